"""The tars desktop app (`tars app`, DESIGN.md: app.py).

One window: an instruction box, the policy choice and its settings, Run / Pause / Stop, and a
live trace with one row per step (thumbnail of the screenshot with the action marked,
thought, action in words, timings); selecting a row shows the screenshot large. Recorded
trajectories open in the same trace and export as a self-contained HTML report
(:func:`tars.frontends.report.write_report`).

The agent runs in a QThread (:mod:`tars.frontends.app.worker`), so the window never freezes, not even
while a model loads. During a run the window minimises and the overlay (:mod:`tars.frontends.overlay`)
takes over the screen; the window comes back when the run ends. Settings persist in QSettings
(:mod:`tars.frontends.app.settings`); the API key only when "remember key" is ticked.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from tars.agent.harness import HARNESSES
from tars.frontends.app.settings import APP_POLICIES, LANGUAGES, AppSettings, load_settings, save_settings


def pil_to_qimage(image: Any):
    """PIL image -> QImage (RGB888, deep copy, safe after the PIL image is gone)."""
    from PySide6.QtGui import QImage

    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def _build_window_class():
    from PySide6 import QtCore, QtGui, QtWidgets

    from tars.frontends.app.worker import TraceRow, load_trace, worker_class

    Qt = QtCore.Qt
    COLS = ("Step", "Screenshot", "Thought", "Action", "Timings")

    class FitLabel(QtWidgets.QLabel):
        """Shows :attr:`full` (the screenshot at its own size) scaled to fit, aspect kept."""

        def __init__(self, text: str) -> None:
            super().__init__(text)
            self.full: Any = None
            self.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)

        def set_full(self, pixmap: Any, text: str = "") -> None:
            self.full = pixmap
            if pixmap is None:
                self.setPixmap(QtGui.QPixmap())
                self.setText(text)
            else:
                self._fit()

        def _fit(self) -> None:
            if self.full is not None and self.width() > 1 and self.height() > 1:
                self.setPixmap(self.full.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.SmoothTransformation))

        def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
            super().resizeEvent(event)
            self._fit()

    class MainWindow(QtWidgets.QMainWindow):
        """The app's main window.

        ``store``: a QSettings (default: the user's tars settings). ``policy_factory(settings)``
        and ``operator_factory(settings)`` build the policy and operator in the worker thread
        (defaults: :func:`tars.agent.runbuild.make_policy` and a LocalOperator on
        ``settings.monitor``); tests pass a ScriptedPolicy and a DryRunOperator.
        ``hide_while_running``: minimise during runs (the overlay takes over).
        """

        run_state_changed = QtCore.Signal(bool)

        def __init__(self, store: Any = None,
                     policy_factory: Callable[[AppSettings], Any] | None = None,
                     operator_factory: Callable[[AppSettings], Any] | None = None,
                     hide_while_running: bool = True) -> None:
            super().__init__()
            self.setWindowTitle("tars")
            self.store = store if store is not None else QtCore.QSettings("tars", "tars")
            self.settings = load_settings(self.store)
            self.policy_factory = policy_factory or default_policy
            self.operator_factory = operator_factory or default_operator
            self.hide_while_running = hide_while_running
            self.rows: list[TraceRow] = []
            self.worker: Any = None
            self.thread_: Any = None
            self.overlay: Any = None
            self.last_result: Any = None
            self.trajectory_dir: Path | None = None
            self._stop_clicked_at: float | None = None
            self._build()
            self._fill_form(self.settings)
            self._update_buttons()

        # ------------------------------------------------------------------ layout
        def _build(self) -> None:
            central = QtWidgets.QWidget()
            outer = QtWidgets.QVBoxLayout(central)

            top = QtWidgets.QHBoxLayout()
            self.instruction = QtWidgets.QPlainTextEdit()
            self.instruction.setPlaceholderText("What should tars do? e.g. Open the settings and turn on dark mode")
            self.instruction.setFixedHeight(64)
            top.addWidget(self.instruction, 1)
            buttons = QtWidgets.QVBoxLayout()
            self.run_btn = QtWidgets.QPushButton("Run")
            self.pause_btn = QtWidgets.QPushButton("Pause")
            self.stop_btn = QtWidgets.QPushButton("Stop")
            self.run_btn.setDefault(True)
            self.run_btn.clicked.connect(self.start_run)
            self.pause_btn.clicked.connect(self.toggle_pause)
            self.stop_btn.clicked.connect(self.stop_run)
            for b in (self.run_btn, self.pause_btn, self.stop_btn):
                buttons.addWidget(b)
            top.addLayout(buttons)
            outer.addLayout(top)

            split = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
            split.addWidget(self._build_form())
            self.trace = QtWidgets.QTableWidget(0, len(COLS))
            self.trace.setHorizontalHeaderLabels(COLS)
            self.trace.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
            self.trace.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
            self.trace.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
            self.trace.setIconSize(QtCore.QSize(192, 120))
            self.trace.setWordWrap(True)
            self.trace.verticalHeader().setVisible(False)
            head = self.trace.horizontalHeader()
            head.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.Stretch)
            self.trace.setColumnWidth(0, 44)
            self.trace.setColumnWidth(1, 200)
            self.trace.setColumnWidth(3, 190)
            self.trace.setColumnWidth(4, 110)
            self.trace.itemSelectionChanged.connect(self._show_selected)
            right = QtWidgets.QSplitter(Qt.Orientation.Vertical)
            right.addWidget(self.trace)
            self.preview = FitLabel("Select a step to see its screenshot")
            self.preview.setMinimumHeight(160)
            right.addWidget(self.preview)
            right.setSizes([300, 300])
            split.addWidget(right)
            split.setStretchFactor(1, 1)
            outer.addWidget(split, 1)
            self.setCentralWidget(central)

            tools = self.addToolBar("File")
            tools.setMovable(False)
            self.open_act = tools.addAction("Open trajectory…", self.open_trajectory_dialog)
            self.export_act = tools.addAction("Export HTML…", self.export_dialog)
            self.status_label = QtWidgets.QLabel("Ready")
            self.statusBar().addWidget(self.status_label, 1)
            self.resize(1100, 720)

        def _build_form(self):
            box = QtWidgets.QGroupBox("Settings")
            form = QtWidgets.QFormLayout(box)
            self.policy_box = QtWidgets.QComboBox()
            self.policy_box.addItems(APP_POLICIES)
            self.policy_box.currentTextChanged.connect(lambda _: self._update_form())
            self.model_edit = QtWidgets.QLineEdit()
            self.model_edit.setPlaceholderText("Hub id, folder, or served model name")
            self.adapter_edit = QtWidgets.QLineEdit()
            self.adapter_edit.setPlaceholderText("LoRA adapter folder (hf)")
            self.endpoint_edit = QtWidgets.QLineEdit()
            self.endpoint_edit.setPlaceholderText("http://localhost:8000/v1")
            self.key_edit = QtWidgets.QLineEdit()
            self.key_edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
            self.remember_box = QtWidgets.QCheckBox("remember key (stored in plain text)")
            self.steps_spin = QtWidgets.QSpinBox()
            self.steps_spin.setRange(1, 1000)
            self.lang_box = QtWidgets.QComboBox()
            self.lang_box.setEditable(True)
            self.lang_box.addItems(LANGUAGES)
            self.harness_box = QtWidgets.QComboBox()
            self.harness_box.addItems(HARNESSES)
            self.harness_box.setToolTip("tars: settling, feedback, loop breaker; "
                                        "osworld: OSWorld's runner rule for rule (docs/harness.md)")
            self.record_edit = QtWidgets.QLineEdit()
            self.record_edit.setPlaceholderText("(not recorded)")
            self.overlay_box = QtWidgets.QCheckBox("show the overlay during runs")
            self.keep_box = QtWidgets.QCheckBox("keep the overlay in screenshots (recording)")
            self.monitor_spin = QtWidgets.QSpinBox()
            self.monitor_spin.setRange(1, 16)
            form.addRow("Policy", self.policy_box)
            form.addRow("Model", self._with_browse(self.model_edit))
            form.addRow("LoRA adapter", self._with_browse(self.adapter_edit))
            form.addRow("Endpoint", self.endpoint_edit)
            form.addRow("API key", self.key_edit)
            form.addRow("", self.remember_box)
            form.addRow("Max steps", self.steps_spin)
            form.addRow("Language", self.lang_box)
            form.addRow("Harness", self.harness_box)
            form.addRow("Record to", self._with_browse(self.record_edit))
            form.addRow("Monitor", self.monitor_spin)
            form.addRow("", self.overlay_box)
            form.addRow("", self.keep_box)
            box.setMaximumWidth(380)
            return box

        def _with_browse(self, edit):
            row = QtWidgets.QWidget()
            lay = QtWidgets.QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(edit, 1)
            btn = QtWidgets.QToolButton()
            btn.setText("…")
            btn.clicked.connect(lambda: self._browse(edit))
            lay.addWidget(btn)
            return row

        def _browse(self, edit) -> None:
            folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
            if folder:
                edit.setText(folder)

        # ------------------------------------------------------------------ settings
        def _fill_form(self, s: AppSettings) -> None:
            self.policy_box.setCurrentText(s.policy)
            self.model_edit.setText(s.model)
            self.adapter_edit.setText(s.adapter)
            self.endpoint_edit.setText(s.endpoint)
            self.key_edit.setText(s.api_key)
            self.remember_box.setChecked(s.remember_key)
            self.steps_spin.setValue(s.max_steps)
            self.lang_box.setCurrentText(s.language)
            self.harness_box.setCurrentText(s.harness)
            self.record_edit.setText(s.record_dir)
            self.overlay_box.setChecked(s.overlay)
            self.keep_box.setChecked(s.keep_overlay_in_captures)
            self.monitor_spin.setValue(s.monitor)
            self._update_form()

        def read_form(self) -> AppSettings:
            """The settings as the form shows them now."""
            return AppSettings(
                policy=self.policy_box.currentText(), model=self.model_edit.text().strip(),
                adapter=self.adapter_edit.text().strip(), endpoint=self.endpoint_edit.text().strip(),
                api_key=self.key_edit.text().strip(), remember_key=self.remember_box.isChecked(),
                max_steps=self.steps_spin.value(), language=self.lang_box.currentText().strip() or "English",
                record_dir=self.record_edit.text().strip(), overlay=self.overlay_box.isChecked(),
                keep_overlay_in_captures=self.keep_box.isChecked(), monitor=self.monitor_spin.value(),
                harness=self.harness_box.currentText(),
            )

        def _update_form(self) -> None:
            name = self.policy_box.currentText()
            self.model_edit.setEnabled(name in ("hf", "openai"))
            adapter_row = self.adapter_edit.parentWidget()
            if adapter_row is not None:
                adapter_row.setEnabled(name == "hf")
            self.endpoint_edit.setEnabled(name == "openai")
            self.key_edit.setEnabled(name == "openai")
            self.remember_box.setEnabled(name == "openai")

        def save(self) -> None:
            """Persist the form (QSettings)."""
            self.settings = self.read_form()
            save_settings(self.settings, self.store)

        # ------------------------------------------------------------------ runs
        @property
        def running(self) -> bool:
            """True from Run until the worker reports the end of the run."""
            return self.worker is not None

        def _update_buttons(self) -> None:
            self.run_btn.setEnabled(not self.running)
            self.pause_btn.setEnabled(self.running)
            self.stop_btn.setEnabled(self.running)
            self.open_act.setEnabled(not self.running)
            self.export_act.setEnabled(not self.running and self.trajectory_dir is not None)

        def set_status(self, text: str) -> None:
            self.status_label.setText(text)

        def start_run(self, instruction: str | None = None) -> bool:
            """Start a run of ``instruction`` (default: the instruction box); False if refused."""
            if self.running:
                return False
            text = (instruction if isinstance(instruction, str) else None) or self.instruction.toPlainText().strip()
            if not text:
                self.set_status("Write an instruction first")
                return False
            self.instruction.setPlainText(text)
            self.save()
            s = self.settings
            if self.policy_factory is default_policy:
                from tars.models.base import PolicyError

                try:  # a setting that cannot work is reported now, not after a model load
                    s.policy_options().check()
                except PolicyError as exc:
                    self.set_status(str(exc))
                    return False
            hooks: list[Any] = []
            self.trajectory_dir = None
            if s.record_dir:
                from tars.agent.trajectory import TrajectoryRecorder

                folder = Path(s.record_dir) / time.strftime("run-%Y%m%d-%H%M%S")
                n = 1
                while folder.exists():
                    n += 1
                    folder = Path(s.record_dir) / time.strftime(f"run-%Y%m%d-%H%M%S-{n}")
                hooks.append(TrajectoryRecorder(folder))
                self.trajectory_dir = folder
            if s.overlay:
                hooks.append(self._overlay_hook(s))
            options = s.run_options()
            self.clear_trace()
            Worker = worker_class()
            self.worker = Worker(text, options, lambda: self.policy_factory(s),
                                 lambda: self.operator_factory(s), hooks)
            self.thread_ = QtCore.QThread(self)
            self.worker.moveToThread(self.thread_)
            self.thread_.started.connect(self.worker.run)
            self.worker.step_done.connect(self.add_row)
            self.worker.status.connect(self.set_status)
            self.worker.paused_changed.connect(self._on_paused)
            self.worker.run_finished.connect(self._on_run_finished)
            if self.overlay is not None:
                self.overlay.attach(self.worker)
            self._stop_clicked_at = None
            self.pause_btn.setText("Pause")
            self._update_buttons()
            self.run_state_changed.emit(True)
            self.thread_.start()
            if self.hide_while_running:
                self.showMinimized()
            return True

        def _overlay_hook(self, s: AppSettings):
            from tars.frontends.overlay import OverlayHook, OverlaySettings

            if self.overlay is None:
                self.overlay = OverlayHook(OverlaySettings())
            self.overlay.settings.keep_in_captures = s.keep_overlay_in_captures
            return self.overlay

        def toggle_pause(self) -> None:
            """Pause a running run, or resume a paused one."""
            if self.worker is None:
                return
            if self.pause_btn.text() == "Pause":
                self.worker.pause()
            else:
                self.worker.resume()

        def _on_paused(self, paused: bool) -> None:
            self.pause_btn.setText("Resume" if paused else "Pause")
            self.set_status("Paused (between steps)" if paused else "Running…")
            if self.overlay is not None:
                self.overlay.set_paused(paused)

        def stop_run(self) -> None:
            """Ask the run to stop; the result arrives through ``run_finished``."""
            if self.worker is not None:
                self._stop_clicked_at = time.monotonic()
                self.worker.stop()

        def _on_run_finished(self, result) -> None:
            self.last_result = result
            thread, self.worker, self.thread_ = self.thread_, None, None
            if thread is not None:
                thread.quit()
                thread.wait(5000)
            tail = f": {result.content}" if result.content else (f" ({result.error})" if result.error else "")
            self.set_status(f"{result.status}{tail} — {result.steps} steps, {result.seconds:.1f} s")
            self._update_buttons()
            if self.hide_while_running:
                self.showNormal()
                self.raise_()
                self.activateWindow()
            self.run_state_changed.emit(False)

        # ------------------------------------------------------------------ trace
        def clear_trace(self) -> None:
            self.rows.clear()
            self.trace.setRowCount(0)
            self.preview.set_full(None, "Select a step to see its screenshot")

        def add_row(self, row: TraceRow) -> None:
            """Append one step to the trace (GUI thread)."""
            self.rows.append(row)
            r = self.trace.rowCount()
            self.trace.insertRow(r)
            self.trace.setItem(r, 0, QtWidgets.QTableWidgetItem(str(row.step_num)))
            thumb = QtWidgets.QTableWidgetItem()
            image = row.make_thumbnail()
            if image is not None:
                thumb.setIcon(QtGui.QIcon(QtGui.QPixmap.fromImage(pil_to_qimage(image))))
            self.trace.setItem(r, 1, thumb)
            thought = QtWidgets.QTableWidgetItem(row.thought)
            thought.setToolTip(row.response)
            self.trace.setItem(r, 2, thought)
            self.trace.setItem(r, 3, QtWidgets.QTableWidgetItem(row.action_text))
            self.trace.setItem(r, 4, QtWidgets.QTableWidgetItem(row.timings_text.replace(" · ", "\n")))
            self.trace.setRowHeight(r, 128)
            self.trace.scrollToBottom()

        def _show_selected(self) -> None:
            items = self.trace.selectedItems()
            if not items:
                return
            self.show_step(items[0].row())

        def show_step(self, index: int) -> None:
            """Show step ``index`` (row number) large, with its actions marked."""
            row = self.rows[index]
            marked = row.marked_image()
            if marked is None:
                self.preview.set_full(None, "(no screenshot for this step)")
                return
            self.preview.set_full(QtGui.QPixmap.fromImage(pil_to_qimage(marked)))

        # ------------------------------------------------------------------ trajectories
        def open_trajectory(self, folder: str | Path) -> bool:
            """Show a recorded trajectory in the trace; False (status says why) on failure."""
            try:
                traj, rows = load_trace(folder)
            except (OSError, ValueError) as exc:
                self.set_status(f"Cannot open {folder}: {exc}")
                return False
            self.clear_trace()
            for row in rows:
                self.add_row(row)
            self.trajectory_dir = Path(folder)
            self.instruction.setPlainText(traj.meta.instruction)
            status = traj.result.status if traj.result is not None else "no result"
            self.set_status(f"Opened {folder}: {len(rows)} steps, {status}")
            self._update_buttons()
            return True

        def open_trajectory_dialog(self) -> None:
            folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a trajectory folder",
                                                                self.record_edit.text())
            if folder:
                self.open_trajectory(folder)

        def export_html(self, out_path: str | Path) -> Path | None:
            """Write the current trajectory as a self-contained HTML report; None on failure."""
            if self.trajectory_dir is None:
                self.set_status("Nothing to export: open a trajectory or record a run first")
                return None
            from tars.frontends.report import write_report

            try:
                path = write_report(self.trajectory_dir, out_path)
            except (OSError, ValueError) as exc:
                self.set_status(f"Export failed: {exc}")
                return None
            self.set_status(f"Exported {path}")
            return Path(path)

        def export_dialog(self) -> None:
            if self.trajectory_dir is None:
                self.export_html("")
                return
            out, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Export HTML report", str(self.trajectory_dir / "report.html"), "HTML (*.html)")
            if out:
                self.export_html(out)

        def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
            if self.worker is not None:
                self.worker.stop()
                if self.thread_ is not None:
                    self.thread_.quit()
                    self.thread_.wait(3000)
            if self.overlay is not None:
                self.overlay.close()
            self.save()
            super().closeEvent(event)

    return MainWindow


def default_policy(settings: AppSettings):
    """The policy the settings describe (:func:`tars.agent.runbuild.make_policy`).

    Raises:
        PolicyError: bad combination, missing model or extra, unreachable endpoint.
    """
    from tars.agent.runbuild import make_policy

    return make_policy(settings.run_options().policy)


def default_operator(settings: AppSettings):
    """A LocalOperator on ``settings.monitor`` (needs a display), built by
    :func:`tars.agent.runbuild.make_operator`."""
    from tars.agent.runbuild import make_operator

    return make_operator(settings.run_options())


_WINDOW = None


def main_window_class():
    """The :class:`MainWindow` class (defined on first use: PySide6 is imported then)."""
    global _WINDOW
    if _WINDOW is None:
        _WINDOW = _build_window_class()
    return _WINDOW


def run_app(trajectory: str | None = None) -> int:
    """Open the app (and ``trajectory`` in it, when given); returns Qt's exit code."""
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("tars")
    window = main_window_class()()
    if trajectory:
        window.open_trajectory(trajectory)
    window.show()
    return app.exec()
