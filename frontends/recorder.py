"""Human demonstrations: record what a person does as a trajectory (``tars record DIR``).

pynput mouse and keyboard listeners watch the desktop; :class:`EventMerger` turns their raw
events into the same typed actions the agent performs (DESIGN.md, The action language):

* press + release at one place -> ``Click`` / ``RightClick``; a second left click within
  ``double_click_s`` seconds and a few points of the first -> ``DoubleClick`` (replacing it);
* press, move more than ``drag_threshold`` points, release -> ``Drag``;
* wheel notches in one direction, close in time and place -> one ``Scroll`` with their count;
* printable keys -> one ``Type`` per run of typing (Backspace edits the run, Enter ends it
  with ``\\n``, UI-TARS' submit convention); keys with Ctrl / Alt / Win held -> ``Hotkey``;
  other keys (Tab, Esc, arrows, F-keys) -> ``Press`` (``Hotkey`` with Shift held).

Each action gets the screenshot taken just *before* it began: a background thread grabs the
screen every ``frame_interval`` seconds and the recorder uses the newest frame older than the
action's first event (the event itself may already have changed the screen by the time a
grab could run). The run is saved with :class:`tars.agent.trajectory.TrajectoryRecorder`, actions in
screen points and in a model's coordinate space (``space``, default UI-TARS-1.5's ``resized``),
the response written as UI-TARS text ``Action: click(start_box='(x,y)')``, and a final
``finished()`` step, so ``tars replay`` can perform it again and it can serve as training data.

Stop with the emergency hotkey (default Ctrl+Alt+Esc; the combination is not recorded), or
:meth:`DemoRecorder.stop` / Ctrl+C.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tars.actions.coords import CoordSpace, ScreenGeometry, action_to_model
from tars.actions.keys import MODIFIERS, UnknownKeyError, from_pynput_name, normalize_key
from tars.actions.space import (
    Action,
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    Press,
    RightClick,
    Scroll,
    Step,
    Type,
)

#: order modifiers are written in a Hotkey (the order people say them: ctrl+shift+t)
_MOD_ORDER = {m: i for i, m in enumerate(("ctrl", "alt", "shift", "win"))}


@dataclass
class DemoAction:
    """One recorded action in screen points, the frame seen before it, and its time (s)."""

    action: Action
    frame: Any
    timestamp: float


class EventMerger:
    """Turns raw input events into actions (see the module docstring for the rules).

    ``emit(DemoAction)`` receives each action once it is final (a click waits for a possible
    second click; a typing run for its end). ``frame_at(t)`` returns the screenshot to keep
    for an action starting at time ``t``. Coordinates are screen points, times seconds.
    ``stop_combo``: (modifiers, key) that calls ``on_stop`` instead of being recorded.
    Thread-safe: the mouse and keyboard listeners call it from their own threads.
    """

    def __init__(self, emit: Callable[[DemoAction], None], frame_at: Callable[[float], Any],
                 double_click_s: float = 0.4, drag_threshold: float = 5.0,
                 scroll_merge_s: float = 1.0,
                 stop_combo: tuple[frozenset[str], str] | None = None,
                 on_stop: Callable[[], None] | None = None):
        self.emit, self.frame_at = emit, frame_at
        self.double_click_s, self.drag_threshold = double_click_s, drag_threshold
        self.scroll_merge_s = scroll_merge_s
        self.stop_combo, self.on_stop = stop_combo, on_stop
        self._lock = threading.RLock()
        self._pending: DemoAction | None = None  # a click (may become double) or a scroll
        self._pending_t = 0.0  # time of the pending action's last event
        self._press: tuple[float, float, str, float, Any] | None = None
        self._typed: list[str] = []
        self._typed_start: tuple[float, Any] | None = None
        self._held: set[str] = set()

    # -- output --------------------------------------------------------------------------
    def _flush_pending(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.emit(pending)

    def _flush_typing(self) -> None:
        if self._typed and self._typed_start is not None:
            t, frame = self._typed_start
            self.emit(DemoAction(Type("".join(self._typed)), frame, t))
        self._typed, self._typed_start = [], None

    def flush(self) -> None:
        """Emit everything still held (at the end of a recording)."""
        with self._lock:
            self._flush_typing()
            self._flush_pending()

    def tick(self, now: float) -> None:
        """Emit a held click or scroll once nothing can merge into it any more."""
        with self._lock:
            if self._pending is not None:
                wait = self.double_click_s if isinstance(self._pending.action, Click) else self.scroll_merge_s
                if now - self._pending_t > wait:
                    self._flush_pending()

    # -- mouse ---------------------------------------------------------------------------
    def mouse_down(self, x: float, y: float, button: str, t: float) -> None:
        """A button (``left`` / ``right`` / ``middle``) went down at (x, y)."""
        with self._lock:
            self._flush_typing()
            if self._pending is not None and not isinstance(self._pending.action, Click):
                self._flush_pending()
            self._press = (x, y, button, t, self.frame_at(t))

    def mouse_up(self, x: float, y: float, button: str, t: float) -> None:
        """A button came up at (x, y): completes a click, double click or drag."""
        with self._lock:
            press, self._press = self._press, None
            if press is None or press[2] != button:
                return
            x0, y0, _, t0, frame = press
            if math.hypot(x - x0, y - y0) > self.drag_threshold and button == "left":
                self._flush_pending()
                self.emit(DemoAction(Drag(x0, y0, x, y), frame, t0))
                return
            if button == "right":
                self._flush_pending()
                self.emit(DemoAction(RightClick(x0, y0), frame, t0))
                return
            if button != "left":
                return  # no UI-TARS action for the middle button
            prev = self._pending
            if (prev is not None and type(prev.action) is Click
                    and t0 - self._pending_t <= self.double_click_s
                    and math.hypot(prev.action.x - x0, prev.action.y - y0) <= self.drag_threshold):
                # the second click of a double click: one DoubleClick, with the first frame
                self._pending = None
                self.emit(DemoAction(DoubleClick(prev.action.x, prev.action.y), prev.frame, prev.timestamp))
                return
            self._flush_pending()
            self._pending, self._pending_t = DemoAction(Click(x0, y0), frame, t0), t

    def scroll(self, x: float, y: float, dx: int, dy: int, t: float) -> None:
        """Wheel notches at (x, y): ``dy`` > 0 up, < 0 down; ``dx`` > 0 right, < 0 left."""
        with self._lock:
            self._flush_typing()
            if dy:
                direction, notches = ("up" if dy > 0 else "down"), abs(int(dy))
            elif dx:
                direction, notches = ("right" if dx > 0 else "left"), abs(int(dx))
            else:
                return
            prev = self._pending
            if (prev is not None and isinstance(prev.action, Scroll)
                    and prev.action.direction == direction
                    and t - self._pending_t <= self.scroll_merge_s
                    and math.hypot((prev.action.x or 0) - x, (prev.action.y or 0) - y) <= 4 * self.drag_threshold):
                a = prev.action
                self._pending = DemoAction(Scroll(a.x, a.y, direction, a.amount + notches), prev.frame, prev.timestamp)
                self._pending_t = t
                return
            self._flush_pending()
            self._pending = DemoAction(Scroll(x, y, direction, notches), self.frame_at(t), t)
            self._pending_t = t

    # -- keyboard ------------------------------------------------------------------------
    def key_down(self, name: str | None, char: str | None, t: float) -> None:
        """A key went down: ``name`` its canonical name (``ctrl``, ``enter``, ``a``) or None,
        ``char`` the character it types (with Shift applied) or None."""
        with self._lock:
            if name in MODIFIERS:
                self._held.add(name)
                return
            mods = self._held - {"shift"}
            if mods:
                key = (char or name or "").lower() or None
                if key is None:
                    return
                keys = tuple(sorted(self._held, key=lambda k: _MOD_ORDER.get(k, 99))) + (key,)
                if self.stop_combo and frozenset(self._held) >= self.stop_combo[0] and key == self.stop_combo[1]:
                    if self.on_stop:
                        self.on_stop()
                    return
                self._flush_typing()
                self._flush_pending()
                self.emit(DemoAction(Hotkey(keys), self.frame_at(t), t))
                return
            if char is not None and char.isprintable():
                self._flush_pending()
                if not self._typed:
                    self._typed_start = (t, self.frame_at(t))
                self._typed.append(char)
                return
            if name == "space":
                self.key_down(None, " ", t)
                return
            if name == "enter" and self._typed:
                self._typed.append("\n")  # UI-TARS: a trailing newline means submit
                self._flush_typing()
                return
            if name == "backspace" and self._typed:
                self._typed.pop()
                if not self._typed:
                    self._typed_start = None
                return
            if name is None:
                return
            self._flush_typing()
            self._flush_pending()
            if "shift" in self._held:
                self.emit(DemoAction(Hotkey(("shift", name)), self.frame_at(t), t))
            else:
                self.emit(DemoAction(Press(name), self.frame_at(t), t))

    def key_up(self, name: str | None) -> None:
        """A key came up (only modifiers matter)."""
        with self._lock:
            self._held.discard(name)


def pynput_key_name(key: Any) -> tuple[str | None, str | None]:
    """pynput key -> (canonical name or None, typed character or None).

    Left/right modifiers fold into ``ctrl``/``alt``/``shift``/``win``; a control character
    (pynput may report ``\\x03`` for Ctrl+C) is mapped back to its letter.
    """
    name = getattr(key, "name", None)
    if name is not None:  # a pynput.keyboard.Key member: named by the one key table
        return from_pynput_name(name), None
    char = getattr(key, "char", None)
    if char:
        if len(char) == 1 and ord(char) < 32:
            char = chr(ord(char) + 96)
        try:
            return normalize_key(char.lower()), char
        except UnknownKeyError:
            return None, char
    return None, None


class DemoRecorder:
    """Records a demonstration into ``folder`` (a new trajectory folder).

    ``instruction``: what the person is doing (meta.json). ``space``: the model coordinate
    space the actions' ``model`` form and text use. ``monitor``: mss index (None: primary).
    ``stop_hotkey``: combination that ends the recording (not recorded).

    Use :meth:`start`, then :meth:`wait` (returns when the hotkey is pressed) or :meth:`stop`.

    Raises:
        tars.agent.trajectory.TrajectoryError: the folder already holds a trajectory or can't be written.
        tars.desktop.operator.OperatorError: no display to capture.
    """

    def __init__(self, folder: str | Path, instruction: str = "human demonstration",
                 space: CoordSpace | None = None, monitor: int | None = None,
                 stop_hotkey: str = "ctrl+alt+esc", frame_interval: float = 0.1,
                 double_click_s: float = 0.4):
        from tars.desktop.estop import parse_combo

        self.folder = Path(folder)
        self.instruction = instruction
        self.space = space or CoordSpace("resized")
        self.monitor = monitor
        self.frame_interval = frame_interval
        self.stop_combo = parse_combo(stop_hotkey)
        self.stopped = threading.Event()
        self.actions: list[DemoAction] = []
        self.error: BaseException | None = None
        self.merger = EventMerger(self._emit, self._frame_at, double_click_s=double_click_s,
                                  stop_combo=self.stop_combo, on_stop=self.stop)
        self._frames: deque[tuple[float, Any]] = deque(maxlen=30)
        self._frames_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._capture: Any = None
        self._geometry: ScreenGeometry | None = None
        self._recorder: Any = None
        self._listeners: list[Any] = []
        self._thread: threading.Thread | None = None
        self._started = 0.0

    # -- frames ------------------------------------------------------------------------
    def _grab(self) -> tuple[float, Any]:
        t = time.time()
        image, geometry = self._capture.grab()
        self._geometry = geometry
        return t, image

    def _frame_at(self, t: float) -> Any:
        with self._frames_lock:
            older = [img for ft, img in self._frames if ft <= t]
        if older:
            return older[-1]
        return self._grab()[1]

    def _background(self) -> None:
        # the frame ring and the timer that finalises a held click
        while not self.stopped.is_set():
            try:
                frame = self._grab()
                with self._frames_lock:
                    self._frames.append(frame)
                self.merger.tick(time.time())
            except Exception as exc:  # a capture or write failure ends the recording
                self.error = exc
                self.stopped.set()
                return
            self.stopped.wait(self.frame_interval)

    # -- writing -----------------------------------------------------------------------
    def _write(self, demo: DemoAction) -> None:
        from tars.agent.hooks import StepRecord
        from tars.desktop.operator import Observation

        geometry = self._geometry
        assert geometry is not None  # set by start(), before any event is recorded
        model = action_to_model(demo.action, self.space, geometry)
        step = Step(None, (model,), raw=f"Action: {model.to_text()}")
        record = StepRecord(len(self.actions), Observation(demo.frame, geometry, demo.timestamp),
                            step.raw, step, [model], [demo.action], None, {}, demo.timestamp)
        self._recorder.step_end(record)

    def _emit(self, demo: DemoAction) -> None:
        with self._write_lock:
            self.actions.append(demo)
            try:
                self._write(demo)
            except OSError as exc:  # full disk: stop recording, keep what was written
                self.error = exc
                self.stopped.set()

    # -- listeners ---------------------------------------------------------------------
    def _on_click(self, x, y, button, pressed, *args) -> None:
        name = getattr(button, "name", str(button))
        if pressed:
            self.merger.mouse_down(x, y, name, time.time())
        else:
            self.merger.mouse_up(x, y, name, time.time())

    def _on_scroll(self, x, y, dx, dy, *args) -> None:
        self.merger.scroll(x, y, dx, dy, time.time())

    def _on_press(self, key, *args) -> None:
        name, char = pynput_key_name(key)
        self.merger.key_down(name, char, time.time())

    def _on_release(self, key, *args) -> None:
        self.merger.key_up(pynput_key_name(key)[0])

    def _start_run(self) -> None:
        from tars.agent.hooks import RunInfo

        combo = "+".join(sorted(self.stop_combo[0])) + "+" + self.stop_combo[1]
        self._recorder.run_start(RunInfo(
            self.instruction, "human", self.space,
            settings={"source": "demonstration", "stop_hotkey": combo},
            geometry=self._geometry, started=self._started))

    def start(self) -> "DemoRecorder":
        """Start capturing and listening; returns self once the listeners are ready."""
        from pynput import keyboard, mouse

        from tars.agent.trajectory import TrajectoryRecorder
        from tars.desktop.capture import ScreenCapture

        self._capture = ScreenCapture(self.monitor, allow_blank=True)
        first = self._grab()
        self._frames.append(first)
        self._started = time.time()
        self._recorder = TrajectoryRecorder(self.folder)
        try:
            self._start_run()
        except BaseException:
            self._capture.close()
            raise
        self._listeners = [mouse.Listener(on_click=self._on_click, on_scroll=self._on_scroll),
                           keyboard.Listener(on_press=self._on_press, on_release=self._on_release)]
        for listener in self._listeners:
            listener.daemon = True
            listener.start()
        for listener in self._listeners:
            listener.wait()
        self._thread = threading.Thread(target=self._background, name="demo-frames", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the recording (thread-safe; what the hotkey calls)."""
        self.stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the recording is stopped; True when it was, False on timeout."""
        return self.stopped.wait(timeout)

    def finish(self) -> list[DemoAction]:
        """Stop listening, write the held actions and a final ``finished()`` step with the
        last frame, close the trajectory; returns the recorded actions.

        Raises:
            tars.agent.trajectory.TrajectoryError: the trajectory could not be completed.
        """
        from tars.agent.hooks import RunResult

        self.stopped.set()
        for listener in self._listeners:
            listener.stop()
        for listener in self._listeners:
            listener.join(timeout=2.0)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.merger.flush()
        status, error = "finished", None
        if self.error is not None:
            status, error = "error", f"{type(self.error).__name__}: {self.error}"
        else:
            try:
                t, frame = self._grab()
                self._emit(DemoAction(Finished(), frame, t))
            except Exception as exc:
                status, error = "error", f"final screenshot failed: {exc}"
        self._recorder.run_end(RunResult(status, "", len(self.actions), time.time() - self._started, error))
        if self._capture is not None:
            self._capture.close()
        return [a for a in self.actions if not isinstance(a.action, Finished)]
