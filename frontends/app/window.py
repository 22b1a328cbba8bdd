"""The tars desktop app (`tars app`, DESIGN.md: app.py).

One window, narrow enough to stand beside the program it works on: the instruction box with
Run / Pause / Stop, a message line (refusals with what to do instead, the result of the last
run), and two tabs: **Run** (the trace, one row per step, and the selected step's screenshot
in a zoomable view) and **Settings** (policy and its options, recording, overlay). Recorded
trajectories open in the same trace and export as a self-contained HTML report
(:func:`tars.frontends.report.write_report`).

Placement (as UI-TARS-desktop keeps its window off the screen the agent works on): the window
puts itself beside the target window (the topmost other window,
:func:`tars.frontends.windows.target_window`; :func:`tars.frontends.layout.beside`) when it
opens and when a run starts. During the run it is minimised (hidden where no window manager
could restore it) and the overlay takes over; when the run ends it comes back beside the
target, never over it, with the result on its message line and the last step selected.

The agent runs in a QThread (:class:`tars.frontends.app.worker.RunWorker`), so the window never
freezes, not even while a model loads. A risky action is asked about in a
:class:`tars.frontends.app.ask.RiskyDialog` (Refuse by default, refused by itself after
:attr:`MainWindow.answer_seconds`), unless Settings allows risky actions without asking.
Settings persist in QSettings (:mod:`tars.frontends.app.settings`); the API key only when
"remember key" is ticked.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from tars.agent.harness import HARNESSES
from tars.frontends import windows
from tars.frontends.app.ask import ANSWER_SECONDS, RiskyDialog, RiskyQuestion
from tars.frontends.app.settings import APP_POLICIES, LANGUAGES, AppSettings, load_settings, save_settings
from tars.frontends.app.trace import TraceRow, load_trace
from tars.frontends.app.worker import RunWorker
from tars.frontends.app.zoom import ZoomView
from tars.frontends.layout import Rect, beside
from tars.frontends.markers import STATUS_RGB, hex_rgb
from tars.frontends.wording import EXAMPLE_INSTRUCTION, advice, outcome, plain_error, thought_for_people

COLS = ("Step", "Screenshot", "Action", "Thought")
#: the window's preferred and least size (frame included), logical pixels
PREFERRED_SIZE = (760, 720)
MIN_SIZE = (480, 420)
EXPORT_TIP_OFF = ("Export HTML needs a recorded run: choose a folder under Settings → Record to "
                  "before you run, or open a recorded trajectory.")
EXPORT_TIP_ON = "Write the trajectory shown as one self-contained HTML report."


def pil_to_qimage(image: Any) -> QtGui.QImage:
    """PIL image -> QImage (RGB888, deep copy, safe after the PIL image is gone)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QtGui.QImage(data, rgb.width, rgb.height, 3 * rgb.width, QtGui.QImage.Format.Format_RGB888).copy()


def default_policy(settings: AppSettings) -> Any:
    """The policy the settings describe (:func:`tars.agent.runbuild.make_policy`).

    Raises:
        PolicyError: bad combination, missing model or extra, unreachable endpoint.
    """
    from tars.agent.runbuild import make_policy

    return make_policy(settings.run_options().policy)


def default_operator(settings: AppSettings) -> Any:
    """A LocalOperator on ``settings.monitor`` (needs a display), built by
    :func:`tars.agent.runbuild.make_operator`."""
    from tars.agent.runbuild import make_operator

    return make_operator(settings.run_options())


def lite_refusal(instruction: str) -> str | None:
    """Why ``lite`` cannot follow ``instruction`` and what to write instead, or None when it
    can (checked with lite's own instruction parser, before anything runs)."""
    from tars.models.lite.instructions import InstructionError, parse_instruction

    try:
        parse_instruction(instruction)
    except InstructionError as exc:
        first = plain_error(str(exc)).split(": it understands", 1)[0]
        return f"{first}. {advice(str(exc), 'lite')}"
    return None


class MainWindow(QtWidgets.QMainWindow):
    """The app's main window.

    ``store``: a QSettings (default: the user's tars settings). ``policy_factory(settings)``
    and ``operator_factory(settings)`` build the policy and operator in the worker thread
    (defaults: :func:`default_policy`, :func:`default_operator`); tests pass a ScriptedPolicy
    and a DryRunOperator. ``hide_while_running``: minimise during runs (the overlay takes
    over) and come back beside the target at the end. :attr:`answer_seconds`: how long a
    risky action's question waits for an answer (:data:`tars.frontends.app.ask.ANSWER_SECONDS`);
    :attr:`question_dialog`: the question on screen now, if any.
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
        self.worker: RunWorker | None = None
        self.thread_: QtCore.QThread | None = None
        self.overlay: Any = None
        self.last_result: Any = None
        self.trajectory_dir: Path | None = None
        #: the window the last placement kept clear of (x, y, w, h, root pixels), if any
        self.target: windows.Window | None = None
        self._stop_clicked_at: float | None = None
        self._hidden_for_run = False
        self.answer_seconds = ANSWER_SECONDS
        self.question_dialog: RiskyDialog | None = None
        self._build()
        self._fill_form(self.settings)
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        central = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 4)
        self.instruction = QtWidgets.QPlainTextEdit()
        self.instruction.setPlaceholderText(f"What should tars do? e.g. {EXAMPLE_INSTRUCTION}")
        self.instruction.setFixedHeight(58)
        outer.addWidget(self.instruction)
        buttons = QtWidgets.QHBoxLayout()
        self.run_btn = QtWidgets.QPushButton("Run")
        self.pause_btn = QtWidgets.QPushButton("Pause")
        self.stop_btn = QtWidgets.QPushButton("Stop")
        self.run_btn.setDefault(True)
        self.run_btn.clicked.connect(lambda: self.start_run())
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.stop_btn.clicked.connect(self.stop_run)
        self.example_btn = QtWidgets.QPushButton("Use the example")
        self.example_btn.setToolTip("Put the example instruction in the box (lite follows it on the "
                                    "practice settings app: python -m tars.assets.apps.settings)")
        self.example_btn.clicked.connect(lambda: self.instruction.setPlainText(EXAMPLE_INSTRUCTION))
        for b in (self.run_btn, self.pause_btn, self.stop_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.example_btn)
        outer.addLayout(buttons)
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)
        outer.addWidget(self.message)

        self.tabs = QtWidgets.QTabWidget()
        run_tab = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        self.trace = QtWidgets.QTableWidget(0, len(COLS))
        self.trace.setHorizontalHeaderLabels(COLS)
        self.trace.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.trace.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.trace.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.trace.setIconSize(QtCore.QSize(112, 70))
        self.trace.setWordWrap(True)
        self.trace.verticalHeader().setVisible(False)
        head = self.trace.horizontalHeader()
        head.setSectionResizeMode(3, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.trace.setColumnWidth(0, 44)
        self.trace.setColumnWidth(1, 120)
        self.trace.setColumnWidth(2, 170)
        self.trace.itemSelectionChanged.connect(self._show_selected)
        self.preview = ZoomView("Select a step to see its screenshot")
        run_tab.addWidget(self.trace)
        run_tab.addWidget(self.preview)
        run_tab.setSizes([260, 400])
        self.tabs.addTab(run_tab, "Run")
        self.tabs.addTab(self._build_form(), "Settings")
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        tools = self.addToolBar("File")
        tools.setMovable(False)
        self.open_act = tools.addAction("Open trajectory…", self.open_trajectory_dialog)
        self.export_act = tools.addAction("Export HTML…", self.export_dialog)
        self.status_label = QtWidgets.QLabel("Ready")
        self.status_label.setMinimumWidth(10)
        self.statusBar().addWidget(self.status_label, 1)
        self._status_text = "Ready"
        self.setMinimumSize(MIN_SIZE[0] - 20, MIN_SIZE[1] - 40)
        self.resize(PREFERRED_SIZE[0], PREFERRED_SIZE[1] - 30)

    def _build_form(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        self.policy_box = QtWidgets.QComboBox()
        self.policy_box.addItems(APP_POLICIES)
        self.policy_box.setToolTip("lite: offline, follows written steps (no model). hf: a UI-TARS/"
                                   "Qwen-VL model on this computer. openai: a model served by vLLM, "
                                   "SGLang or any OpenAI-compatible endpoint.")
        self.policy_box.currentTextChanged.connect(lambda _: self._update_form())
        self.model_edit = QtWidgets.QLineEdit()
        self.model_edit.setPlaceholderText("Hub id, folder, or served model name")
        self.adapter_edit = QtWidgets.QLineEdit()
        self.adapter_edit.setPlaceholderText("LoRA adapter folder (hf)")
        self.endpoint_edit = QtWidgets.QLineEdit()
        self.endpoint_edit.setPlaceholderText("http://localhost:8000/v1")
        self.key_edit = QtWidgets.QLineEdit()
        self.key_edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.remember_box = QtWidgets.QCheckBox("Remember the key (plain text)")
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
        self.record_edit.setToolTip("Each run records to a new folder here; needed for Export HTML.")
        self.record_edit.textChanged.connect(lambda _: self._update_buttons())
        self.overlay_box = QtWidgets.QCheckBox("Show the overlay during runs")
        self.keep_box = QtWidgets.QCheckBox("Overlay visible to the model")
        self.keep_box.setToolTip("Keep the overlay in the screenshots, for screen recordings of a "
                                 "run (the model then sees it too).")
        self.monitor_spin = QtWidgets.QSpinBox()
        self.monitor_spin.setRange(1, 16)
        self.risky_box = QtWidgets.QCheckBox("Allow risky actions without asking")
        self.risky_box.setToolTip("Ctrl+Alt+Delete, logout, power off, rm -rf in a terminal: off, "
                                  "tars asks you each time (as tars run --allow-risky when on).")
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
        note = QtWidgets.QLabel("Recorded runs can be exported as HTML.")
        note.setWordWrap(True)
        note.setStyleSheet("color:#5f6672")
        form.addRow("", note)
        form.addRow("Monitor", self.monitor_spin)
        form.addRow("", self.overlay_box)
        form.addRow("", self.keep_box)
        form.addRow("", self.risky_box)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(page)
        return scroll

    def _with_browse(self, edit: QtWidgets.QLineEdit) -> QtWidgets.QWidget:
        row = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(edit, 1)
        btn = QtWidgets.QToolButton()
        btn.setText("…")
        btn.setToolTip("Choose a folder")
        btn.clicked.connect(lambda: self._browse(edit))
        lay.addWidget(btn)
        return row

    def _browse(self, edit: QtWidgets.QLineEdit) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    # ------------------------------------------------------------------ placement
    def frame_rect(self) -> Rect:
        """The window's frame (x, y, w, h, Qt global logical pixels)."""
        g = self.frameGeometry()
        return (g.x(), g.y(), g.width(), g.height())

    def place_beside_target(self, target: windows.Window | None = None) -> Rect:
        """Put the window beside ``target`` (default: the topmost window of another process)
        on its screen, not over it; centred when there is no target. Returns the frame rect
        asked for."""
        if target is None:
            target = windows.target_window()
        self.target = target
        screen = self.screen() or QtGui.QGuiApplication.primaryScreen()
        avail = screen.availableGeometry()
        dpr = screen.devicePixelRatio() or 1.0
        t_rect = None
        if target is not None:  # root pixels -> Qt logical
            x, y, w, h = target.rect
            t_rect = (round(x / dpr), round(y / dpr), round(w / dpr), round(h / dpr))
        rect = beside((avail.x(), avail.y(), avail.width(), avail.height()), t_rect, PREFERRED_SIZE, MIN_SIZE)
        frame, inner = self.frameGeometry(), self.geometry()
        dw, dh = frame.width() - inner.width(), frame.height() - inner.height()
        if not self.isVisible() or (dw, dh) == (0, 0):
            dw, dh = (2, 28) if windows.wm_running() else (0, 0)  # frame not known yet
        self.resize(max(1, rect[2] - dw), max(1, rect[3] - dh))
        self.move(rect[0], rect[1])
        return rect

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
        self.risky_box.setChecked(s.allow_risky)
        self._update_form()

    def read_form(self) -> AppSettings:
        """The settings as the form shows them now (options the form has no field for keep
        their stored values)."""
        from dataclasses import replace

        return replace(
            self.settings,
            policy=self.policy_box.currentText(), model=self.model_edit.text().strip(),
            adapter=self.adapter_edit.text().strip(), endpoint=self.endpoint_edit.text().strip(),
            api_key=self.key_edit.text().strip(), remember_key=self.remember_box.isChecked(),
            max_steps=self.steps_spin.value(), language=self.lang_box.currentText().strip() or "English",
            record_dir=self.record_edit.text().strip(), overlay=self.overlay_box.isChecked(),
            keep_overlay_in_captures=self.keep_box.isChecked(), monitor=self.monitor_spin.value(),
            harness=self.harness_box.currentText(), allow_risky=self.risky_box.isChecked(),
        )

    def _update_form(self) -> None:
        name = self.policy_box.currentText()
        self.model_edit.setEnabled(name in ("hf", "openai"))
        parent = self.adapter_edit.parentWidget()
        if parent is not None:
            parent.setEnabled(name == "hf")
        self.endpoint_edit.setEnabled(name == "openai")
        self.key_edit.setEnabled(name == "openai")
        self.remember_box.setEnabled(name == "openai")

    def save(self) -> None:
        """Persist the form (QSettings)."""
        self.settings = self.read_form()
        save_settings(self.settings, self.store)

    # ------------------------------------------------------------------ messages
    def set_status(self, text: str) -> None:
        """The short status line (elided to the window's width; full text as tooltip)."""
        self._status_text = text
        width = max(40, self.statusBar().width() - 24)
        self.status_label.setText(self.status_label.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideRight, width))
        self.status_label.setToolTip(text)

    def show_message(self, title: str, body: str = "", kind: str = "error") -> None:
        """The message line: ``title`` in bold and ``body``, coloured by ``kind`` (a key of
        :data:`tars.frontends.markers.STATUS_RGB`). Empty title hides it."""
        if not title:
            self.message.setVisible(False)
            self.message.setText("")
            return
        colour = hex_rgb(STATUS_RGB.get(kind, STATUS_RGB["error"]))
        self.message.setStyleSheet(f"QLabel{{border-left:4px solid {colour};padding:4px 8px;"
                                   "background:#f4f5f7;color:#1d2330}")
        esc = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.message.setText(f"<b style='color:{colour}'>{title}</b>" + (f" — {esc}" if esc else ""))
        self.message.setVisible(True)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self.set_status(self._status_text)

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
        can_export = not self.running and self.trajectory_dir is not None
        self.export_act.setEnabled(can_export)
        tip = EXPORT_TIP_ON if can_export else (
            "Wait for the run to end." if self.running else EXPORT_TIP_OFF)
        self.export_act.setToolTip(tip)
        self.export_act.setStatusTip(tip)

    def refuse(self, title: str, body: str) -> bool:
        """Show why a run did not start (message line and status); returns False."""
        self.show_message(title, body, "error")
        self.set_status(title)
        return False

    def start_run(self, instruction: str | None = None) -> bool:
        """Start a run of ``instruction`` (default: the instruction box); False if refused
        (the message line says why and what to do instead)."""
        if self.running:
            return False
        text = (instruction if isinstance(instruction, str) else None) or self.instruction.toPlainText().strip()
        if not text:
            return self.refuse("Write an instruction first",
                               f"for example: {EXAMPLE_INSTRUCTION} (Use the example puts it in the box)")
        self.instruction.setPlainText(text)
        self.save()
        s = self.settings
        if self.policy_factory is default_policy:
            from tars.models.base import PolicyError

            try:  # a setting that cannot work is reported now, not after a model load
                s.policy_options().check()
            except PolicyError as exc:
                return self.refuse("These settings cannot run", plain_error(str(exc)))
            if s.policy == "lite":
                why = lite_refusal(text)
                if why is not None:
                    return self.refuse("lite cannot follow this instruction", why)
        self.show_message("")
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
        if self.hide_while_running and self.isVisible():
            self.place_beside_target()  # where it comes back at the end; the overlay avoids it
        if s.overlay:
            hooks.append(self._overlay_hook(s))
        options = s.run_options()
        self.clear_trace()
        self.worker = RunWorker(text, options, lambda: self.policy_factory(s),
                                lambda: self.operator_factory(s), hooks, self.answer_seconds)
        self.thread_ = QtCore.QThread(self)
        self.worker.moveToThread(self.thread_)
        self.thread_.started.connect(self.worker.run)
        self.worker.step_done.connect(self.add_row)
        self.worker.status.connect(self.set_status)
        self.worker.paused_changed.connect(self._on_paused)
        self.worker.run_finished.connect(self._on_run_finished)
        self.worker.question_asked.connect(self._ask)
        self.worker.question_closed.connect(self._unask)
        if self.overlay is not None:
            self.overlay.attach(self.worker)
        self._stop_clicked_at = None
        self.pause_btn.setText("Pause")
        self._update_buttons()
        self.run_state_changed.emit(True)
        self.tabs.setCurrentIndex(0)
        if self.hide_while_running:
            self._hide_for_run()
        self.thread_.start()
        return True

    def _hide_for_run(self) -> None:
        # minimised with a window manager; hidden without one (nothing could minimise it)
        self._hidden_for_run = True
        if windows.wm_running():
            self.showMinimized()
        else:
            self.hide()
        QtGui.QGuiApplication.sync()

    def _overlay_hook(self, s: AppSettings) -> Any:
        from tars.frontends.overlay import OverlayHook, OverlaySettings

        if self.overlay is None:
            self.overlay = OverlayHook(OverlaySettings())
        self.overlay.settings.keep_in_captures = s.keep_overlay_in_captures
        self.overlay.avoid = [self.frame_rect()] if self.hide_while_running else []
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

    def _ask(self, question: RiskyQuestion) -> None:
        """Show a risky action's question (GUI thread; the worker waits for the answer)."""
        self._unask(None)
        if self.overlay is not None:
            self.overlay.set_asking(True, question.reason)
        self.question_dialog = RiskyDialog(question)
        self.question_dialog.show_centred(self.screen() or QtGui.QGuiApplication.primaryScreen())

    def _unask(self, question: RiskyQuestion | None) -> None:
        """Take the question off the screen (answered, timed out, stopped); None: any."""
        dialog = self.question_dialog
        if dialog is None or (question is not None and dialog.risky_question is not question):
            return
        self.question_dialog = None
        dialog.close()
        dialog.deleteLater()
        if self.overlay is not None:
            self.overlay.set_asking(False)

    def stop_run(self) -> None:
        """Ask the run to stop; the result arrives through ``run_finished``."""
        if self.worker is not None:
            self._stop_clicked_at = time.monotonic()
            self.worker.stop()

    def _on_run_finished(self, result: Any) -> None:
        self.last_result = result
        self._unask(None)
        thread, self.worker, self.thread_ = self.thread_, None, None
        if thread is not None:
            thread.quit()
            thread.wait(5000)
        last_thought = thought_for_people(self.rows[-1].thought) if self.rows else ""
        title, body = outcome(result.status, result.content, result.error, last_thought)
        tip = advice(result.error, self.settings.policy) if result.status == "error" else ""
        kind = result.status if result.status in STATUS_RGB else "error"
        self.show_message(title, " ".join(p for p in (body, tip) if p), kind)
        self.set_status(f"{title} — {result.steps} steps, {result.seconds:.1f} s")
        self._update_buttons()
        if self.rows:
            self.trace.selectRow(len(self.rows) - 1)
        if self._hidden_for_run:
            self._hidden_for_run = False
            self.showNormal()
            self.place_beside_target(self.target)  # beside the target again, never over it
            self.raise_()
        self.run_state_changed.emit(False)

    # ------------------------------------------------------------------ trace
    def clear_trace(self) -> None:
        """Empty the trace and the screenshot view."""
        self.rows.clear()
        self.trace.setRowCount(0)
        self.preview.set_full(None, "Select a step to see its screenshot")

    def add_row(self, row: TraceRow) -> None:
        """Append one step to the trace (GUI thread)."""
        self.rows.append(row)
        r = self.trace.rowCount()
        self.trace.insertRow(r)
        num = QtWidgets.QTableWidgetItem(str(row.step_num))
        num.setToolTip(row.timings_text)
        self.trace.setItem(r, 0, num)
        thumb = QtWidgets.QTableWidgetItem()
        image = row.make_thumbnail()
        if image is not None:
            thumb.setIcon(QtGui.QIcon(QtGui.QPixmap.fromImage(pil_to_qimage(image))))
        thumb.setToolTip(row.timings_text)
        self.trace.setItem(r, 1, thumb)
        self.trace.setItem(r, 2, QtWidgets.QTableWidgetItem(row.action_text))
        thought = QtWidgets.QTableWidgetItem(thought_for_people(row.thought))
        thought.setToolTip(row.response + (f"\n\n{row.exchange}" if row.exchange else ""))
        self.trace.setItem(r, 3, thought)
        self.trace.setRowHeight(r, 78)
        self.trace.scrollToBottom()

    def _show_selected(self) -> None:
        items = self.trace.selectedItems()
        if not items:
            return
        self.show_step(items[0].row())

    def show_step(self, index: int) -> None:
        """Show step ``index`` (row number) in the zoomable view, with its actions marked."""
        row = self.rows[index]
        marked = row.marked_image()
        if marked is None:
            self.preview.set_full(None, "(no screenshot for this step)")
            return
        self.preview.set_full(QtGui.QPixmap.fromImage(pil_to_qimage(marked)))

    # ------------------------------------------------------------------ trajectories
    def open_trajectory(self, folder: str | Path) -> bool:
        """Show a recorded trajectory in the trace; False (message says why) on failure."""
        try:
            traj, rows = load_trace(folder)
        except (OSError, ValueError) as exc:
            self.refuse("Cannot open this folder", f"{folder}: {plain_error(str(exc))}")
            return False
        self.clear_trace()
        for row in rows:
            self.add_row(row)
        self.trajectory_dir = Path(folder)
        self.instruction.setPlainText(traj.meta.instruction)
        status = traj.result.status if traj.result is not None else "no result"
        self.show_message("")
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
            self.refuse("Nothing to export", EXPORT_TIP_OFF)
            return None
        from tars.frontends.report import write_report

        try:
            path = write_report(self.trajectory_dir, out_path)
        except (OSError, ValueError) as exc:
            self.refuse("Export failed", plain_error(str(exc)))
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

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt name)
        if self.worker is not None:
            self.worker.stop()  # refuses a question on screen too
            self._unask(None)
            if self.thread_ is not None:
                self.thread_.quit()
                self.thread_.wait(3000)
        if self.overlay is not None:
            self.overlay.close()
        self.save()
        super().closeEvent(event)


def run_app(trajectory: str | None = None) -> int:
    """Open the app beside the program to automate (and ``trajectory`` in it, when given);
    returns Qt's exit code."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("tars")
    window = MainWindow()
    if trajectory:
        window.open_trajectory(trajectory)
    window.place_beside_target()
    window.show()
    return app.exec()
