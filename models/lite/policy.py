"""``lite``: the offline default policy. OCR + a little OpenCV + an explicit instruction.

It follows step-by-step instructions (:mod:`tars.models.lite.instructions`) on any application
whose controls carry visible text, and answers exactly like a UI-TARS model
(``Thought: ...\\nAction: ...``, several actions separated by a blank line), so the parser,
the operator, the overlay and the recorder cannot tell it from one. Its points are screenshot
pixels (``CoordSpace("absolute")``).

It keeps no run state of its own: which step it is on is read back from its own earlier
answers in ``prompt.turns``. Each answer's thought starts ``Part K of N`` (K-th part of the
instruction; the loop's step is one answer) and, for answers that
do not finish a step, a tag: ``(looking again)`` after a ``wait()`` because the target was not
on screen, ``(opening the list)`` for the first half of a ``select``. A turn with feedback
(the action failed, or the answer was refused) does not count as done. Steps whose goal the
screen already shows (a box already checked, an option already selected) are skipped.

When a target is not on screen it answers ``wait()`` and looks again, at most ``max_looks``
times per step, then ``call_user()`` with the reason in its thought. When every step is done
it answers ``finished(content=...)``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tars.actions.coords import CoordSpace
from tars.actions.space import (
    Action,
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    MoveTo,
    Press,
    RightClick,
    Scroll,
    Type,
    Wait,
)
from tars.models.base import Policy, PolicyError, Prompt, Turn
from tars.models.lite import controls, glyphs, symbols, verify
from tars.models.lite.instructions import Command, Target, parse_instruction
from tars.models.lite.matching import DEFAULT_THRESHOLD, Match, TextBox, _sub_box, find_matches, normalize, pick

if TYPE_CHECKING:
    from PIL.Image import Image

LOOKING = "looking again"
OPENING = "opening the list"
#: a short wait because the last step's effect was not seen yet
CHECKING = "checking"
#: the step done again by another route because its effect was not seen
RETRYING = "retrying"
#: a message box that appeared after a step, closed because the task does not mention it
DISMISSING = "dismissing a message"
# "Part K of N" (the loop's "step" is one answer, issue 18); "Step K of N" of older runs still read
_MARK = re.compile(r"^\s*Thought:\s*(?:Part|Step) (\d+) of (\d+)(?: \((%s|%s|%s|%s|%s)\))?:"
                   % (LOOKING, OPENING, CHECKING, RETRYING, DISMISSING))
#: words that make a message box an error lite cannot fix by closing it
_ERROR_WORDS = re.compile(r"\b(error|invalid|cannot|can't|could not|failed|failure|not allowed|missing|"
                          r"required|must|please enter|denied|unable)\b", re.IGNORECASE)
#: captions of the one button that closes an information box
_CLOSE_CAPTIONS = ("ok", "close")
#: captions that answer a program's question in favour of what the task asked for, and against
_YES_CAPTIONS = ("yes", "ok", "confirm")
_NO_CAPTIONS = ("no", "cancel")
#: seconds of the wait before a step's unseen effect is looked for again
CHECK_WAIT = 1.0
#: seconds between the click that focuses a field and the typing (the focus must have moved)
FOCUS_SETTLE = 0.3
#: keys that may legitimately change nothing on screen (the caret is already there)
_NAVIGATION = {"home", "end", "up", "down", "left", "right", "pageup", "pagedown", "tab"}


@dataclass
class Progress:
    """What the earlier answers say: ``step`` (0-based index of the step to do now),
    ``looks``/``failures`` (answers for that step that only looked again / that failed),
    ``opened`` (the dropdown of a ``select`` step was opened by the last answer for it),
    ``last_error`` (the feedback of the last failure)."""

    step: int = 0
    looks: int = 0
    failures: int = 0
    opened: bool = False
    last_error: str | None = None
    #: answers that performed the step (the first try and a retry)
    acts: int = 0
    #: index in ``turns`` of the last of them (its image is the screen before it)
    act_turn: int | None = None
    #: ``checking`` waits since that answer
    checks: int = 0


def read_progress_all(turns: list, n_steps: int) -> tuple[int, dict[int, Progress]]:
    """From the ``response``/``feedback`` of past turns: (number of steps done, the
    :class:`Progress` of each step answered for, by 0-based index).

    Answers not written by ``lite`` for an instruction of ``n_steps`` steps (no
    ``Part K of N`` mark, or the older ``Step K of N``) are ignored.
    """
    done = 0
    per_step: dict[int, Progress] = {}
    for index, turn in enumerate(turns):
        if not turn.response:
            continue
        m = _MARK.match(turn.response)
        if not m or int(m.group(2)) != n_steps:
            continue
        k = int(m.group(1)) - 1
        p = per_step.setdefault(k, Progress(step=k))
        tag = m.group(3)
        if turn.feedback and tag != LOOKING:  # a wait() cannot fail; a loop warning on it is noise
            p.failures += 1
            p.last_error = turn.feedback
            continue
        if tag is None or tag == RETRYING:
            done = max(done, k + 1)
            p.acts += 1
            p.act_turn = index
            p.checks = 0
        elif tag == CHECKING:
            p.checks += 1
        elif tag == LOOKING:
            p.looks += 1
        elif tag == OPENING:
            p.opened = True
    return done, per_step


def read_progress(turns: list, n_steps: int) -> Progress:
    """The :class:`Progress` of the step to do now (``step`` = n_steps when all are done)."""
    done, per_step = read_progress_all(turns, n_steps)
    return per_step.get(done, Progress(step=done)) if done < n_steps else Progress(step=done)


def _pending(turns: list, n_steps: int, done: int) -> int | None:
    """The step whose effect must be checked now: the last ``lite`` answer (for ``n_steps``
    steps) performed step ``done - 1`` (or was a ``checking`` wait after it) and was not refused.
    None when there is nothing to check (first answer, or the last answer only looked)."""
    for turn in reversed(turns):
        if not turn.response:
            continue
        m = _MARK.match(turn.response)
        if not m or int(m.group(2)) != n_steps:
            continue
        tag = m.group(3)
        if tag not in (None, RETRYING, CHECKING) or (turn.feedback and tag != CHECKING):
            return None
        if "Action: call_user()" in turn.response or "Action: finished(" in turn.response:
            return None
        k = int(m.group(1)) - 1
        return k if k == done - 1 else None
    return None


def _last_click(turns: list, k: int, end: int) -> tuple[float, float] | None:
    """The last point ``lite`` clicked for step ``k`` (0-based) in ``turns[:end]``: the field a
    typing step focused (its own answer, or the opening answer of a ``set``). None if none."""
    from tars.actions.parse import ParseError, parse_response

    for turn in reversed(turns[:end]):
        if not turn.response:
            continue
        m = _MARK.match(turn.response)
        if not m:
            continue
        if int(m.group(1)) - 1 != k:
            break
        try:
            actions = parse_response(turn.response).actions
        except ParseError:
            continue
        clicks = [a for a in actions if isinstance(a, Click)]
        if clicks:
            return (clicks[-1].x, clicks[-1].y)
    return None


def _last_dismissal(turns: list, n_steps: int) -> int | None:
    """Index in ``turns`` of the last ``lite`` answer when it closed or answered a message box
    (its effect, the box gone, is checked on the next screenshot); else None."""
    for index in range(len(turns) - 1, -1, -1):
        turn = turns[index]
        if not turn.response:
            continue
        m = _MARK.match(turn.response)
        if not m or int(m.group(2)) != n_steps:
            continue
        return index if m.group(3) == DISMISSING and not turn.feedback else None
    return None


@dataclass
class _Reply:
    """A finished answer (UI-TARS text) that replaces the step's own."""

    text: str


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")


def _calendar_day(text: str, lines: list[TextBox], threshold: float) -> str | None:
    """``December 15`` / ``15 December`` / ``Dec 15th``: the day number to click when the
    calendar on screen shows that month (its name is read somewhere); else None."""
    m = re.fullmatch(r"\s*(?:([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([A-Za-z]+))"
                     r"(?:,?\s+\d{4})?\s*", text)
    if not m:
        return None
    word = (m.group(1) or m.group(4)).lower()
    day = m.group(2) or m.group(3)
    month = next((mo for mo in _MONTHS if len(word) >= 3 and mo.startswith(word)), None)
    if month is None or not 1 <= int(day) <= 31:
        return None
    if not find_matches(month, lines, threshold):
        return None
    return str(int(day))


def _away(view: "_View") -> MoveTo:
    """Where the pointer rests while lite looks: the middle of the screen's right edge, clear
    of hover highlights and tooltips (issue 17: a tooltip under the pointer hid keys)."""
    return MoveTo(max(view.image.width - 2, 0), view.image.height // 2)


class _NotFound(Exception):
    """The step's target is not on screen (message: why, for the thought)."""


class _Skip(Exception):
    """The screen already shows the step's goal (message: why)."""


@dataclass
class _Answer:
    thought: str
    actions: list[Action]
    tag: str | None = None


@dataclass
class _View:
    """One screenshot as lite sees it: the image and its OCR lines."""

    image: "Image"
    lines: list[TextBox]
    threshold: float
    cache: dict = field(default_factory=dict)


def _label(match: Match, target: Target) -> str:
    """What to call a match in a thought: the line's text, or the target's words when only a
    part of the line matched."""
    return match.line.text.strip() if match.whole else target.text


def _need(target: Target | None) -> Target:
    """The step's target; every verb that acts on one was parsed with one."""
    if target is None:
        raise PolicyError("lite: a step that needs a target has none")  # parse_step never makes one
    return target


def _pt(xy: tuple[float, float]) -> str:
    return f"({round(xy[0])}, {round(xy[1])})"


class LitePolicy(Policy):
    """The offline default policy (see the module docstring).

    Settings: ``max_looks`` (answers of ``wait()`` per step while its target is missing,
    default 2), ``max_retries`` (failed actions per step before giving up, 1),
    ``ocr_scale`` (resize factor before OCR, 1.0), ``device`` (``auto`` | ``cpu`` | ``cuda``
    for onnxruntime), ``threshold`` (fuzzy match score 0..100, 80), ``ocr_line_cache`` (line
    images whose text is remembered between steps; 0 reads the whole screen at every step). ``model``/``profile``/
    ``look_wait`` (seconds of each wait while a target is missing, 2.5).
    ``adapter``/``endpoint`` given as None are accepted and ignored (the shared policy
    options); any other setting raises :class:`PolicyError`.
    """

    name = "lite"

    def __init__(self, max_looks: int = 2, max_retries: int = 1, ocr_scale: float = 1.0,
                 device: str = "auto", threshold: float = DEFAULT_THRESHOLD, ocr_line_cache: int = 4096,
                 look_wait: float = 2.5, **settings: Any) -> None:
        unknown = {k: v for k, v in settings.items() if v not in (None, False)}
        if unknown:
            raise PolicyError(f"lite takes no setting {', '.join(sorted(unknown))} "
                              "(it has no model: it reads the screen with OCR)")
        if max_looks < 0 or max_retries < 0:
            raise PolicyError("max_looks and max_retries must be >= 0")
        if not 0 <= look_wait <= 60:
            raise PolicyError("look_wait must be 0-60 seconds")
        self.look_wait = look_wait
        self.space = CoordSpace("absolute")
        self.max_looks = max_looks
        self.max_retries = max_retries
        self.ocr_scale = ocr_scale
        self.device = device
        self.threshold = threshold
        self.ocr_line_cache = ocr_line_cache
        self.model_id = None
        self._plans: dict[str, list[Command]] = {}
        self._lock = threading.Lock()
        #: seconds spent in OCR by the last act(), and its OcrResult (benchmarks read them)
        self.last_ocr_seconds = 0.0
        self.last_ocr: Any = None

    # -- the policy protocol ------------------------------------------------------------------
    def prepare(self, instruction: str) -> None:
        """Check that ``instruction`` can be followed and load the OCR models, before anything
        is touched.

        Raises:
            InstructionError: a step is not understood (message names it).
            PolicyError: the OCR models cannot load (rapidocr-onnxruntime missing, no CUDA
                provider for ``device="cuda"``).
        """
        self._plan(instruction)
        from tars.models.lite.ocr import get_engine

        get_engine(self.ocr_scale, self.device, line_cache=self.ocr_line_cache)

    def grounding_prompt(self, image: "Image", instruction: str) -> Prompt:
        """lite follows explicit commands, not a grounding template: it is asked to
        ``click <instruction>`` on the one screenshot (answered in screenshot pixels)."""
        command = f"click {instruction}"
        return Prompt(command, command, [Turn(image=image)], self.space, task="grounding")

    def act(self, prompt: Prompt) -> str:
        """UI-TARS text for the current screenshot and the next step of the instruction.

        Raises:
            InstructionError: the instruction is not understood.
            PolicyError: the prompt holds no screenshot, or OCR cannot load.
        """
        steps = self._plan(prompt.instruction)
        n = len(steps)
        done, per_step = read_progress_all(prompt.turns, n)
        progress = per_step.get(done, Progress(step=done))
        image = prompt.screenshot
        if image is None:
            raise PolicyError("lite needs a screenshot in the prompt")
        if progress.step < n and progress.failures > self.max_retries:
            cmd = steps[progress.step]
            return self._format(progress.step + 1, n, None,
                                f'The action for "{cmd.source}" failed {progress.failures} times '
                                f"({progress.last_error}); handing over to the user.", [CallUser()])
        view = self._view(image)
        notes: list[str] = []
        box_turn = _last_dismissal(prompt.turns, n)
        if box_turn is not None:
            before = prompt.turns[box_turn].image
            if before is not None and not verify.changed_boxes(before, view.image):
                k = min(done, n - 1)
                return self._format(k + 1, n, None, "The message box I answered is still there (nothing "
                                    "changed after my click); I do not claim the task; handing over to the user.",
                                    [CallUser()])
            notes.append("The message box closed.")
        pending = _pending(prompt.turns, n, done)
        if pending is not None:
            k = pending
            confirmed = self._confirm(steps[k], k, n, view, prompt.turns, per_step[k])
            if isinstance(confirmed, _Reply):
                return confirmed.text
            notes.append(confirmed)
            reply = self._message_box(view, steps[done] if done < n else None, done, n, notes)
            if reply is not None:
                return reply
        if progress.step >= n:
            return self._format(n, n, None, " ".join(notes + ["Every step was done and checked."]),
                                [Finished(self._summary(steps))])
        index, opened, looks = progress.step, progress.opened, progress.looks
        while index < n:
            cmd = steps[index]
            try:
                answer = self._decide(cmd, view, opened)
            except _Skip as why:
                # a skipped step leaves no answer of its own: the next one's mark covers it,
                # and looks already spent on the next step (answered before) still count
                notes.append(str(why))
                index += 1
                nxt = per_step.get(index, Progress(step=index))
                opened, looks = nxt.opened, nxt.looks
                continue
            except _NotFound as why:
                if looks < self.max_looks:
                    thought = (f"{why} Maybe it has not appeared yet, or something covers it; I move "
                               f"the pointer away, wait and look again ({looks + 1} of {self.max_looks}).")
                    return self._format(index + 1, n, LOOKING, " ".join(notes + [thought]),
                                        [_away(view), Wait(self.look_wait)])
                thought = (f'I cannot do "{cmd.source}": {why} I looked {looks + 1} times; '
                           "handing over to the user.")
                return self._format(index + 1, n, None, " ".join(notes + [thought]),
                                    [CallUser()])
            actions = list(answer.actions)
            if any(isinstance(a, (Click, DoubleClick, RightClick, Drag)) for a in actions):
                actions.append(_away(view))  # no hover highlight or tooltip in the next look
            return self._format(index + 1, n, answer.tag, " ".join(notes + [answer.thought]), actions)
        return self._format(n, n, None, " ".join(notes + ["Every step was done and checked."]),
                            [Finished(self._summary(steps))])

    # -- checking what a step did -----------------------------------------------------------------
    def _confirm(self, cmd: Command, k: int, n: int, view: _View, turns: list,
                 progress: Progress) -> "str | _Reply":
        """Check the effect of step ``k`` (performed by the answer at ``progress.act_turn``) on
        the current screenshot. Returns what was checked (a sentence) when it is confirmed, else
        the reply to give: a short wait and a second look, one retry by another route, then
        call_user with the reason."""
        before = turns[progress.act_turn].image if progress.act_turn is not None else None
        view.cache["clicked"] = _last_click(turns, k, len(turns) if progress.act_turn is None else progress.act_turn + 1)
        ok, what = self._verify(cmd, view, before)
        if ok:
            return f'Checked "{cmd.source}": {what}.'
        if progress.checks == 0:
            return _Reply(self._format(k + 1, n, CHECKING, f'I do not see the effect of "{cmd.source}" '
                                       f"yet ({what}); I wait a moment and look again.",
                                       [Wait(CHECK_WAIT)]))
        if progress.acts < 2:
            retry = self._retry(cmd, view)
            if retry is not None:
                actions = list(retry.actions)
                if any(isinstance(a, (Click, DoubleClick, RightClick, Drag)) for a in actions):
                    actions.append(_away(view))
                return _Reply(self._format(k + 1, n, RETRYING, f'"{cmd.source}" did not take effect '
                                           f"({what}); I try once more another way: {retry.thought}",
                                           actions))
        tried = " after a second try" if progress.acts >= 2 else ""
        return _Reply(self._format(k + 1, n, None, f'I could not confirm "{cmd.source}"{tried}: {what}. '
                                   "I do not claim it; handing over to the user.", [CallUser()]))

    def _changed(self, view: _View, before: "Image | None") -> list:
        if before is None:
            return []
        key = ("changed", id(before))
        if key not in view.cache:
            view.cache[key] = verify.changed_boxes(before, view.image)
        view.cache["last_changed"] = view.cache[key]
        return view.cache[key]

    def _message_box(self, view: _View, nxt: Command | None, k: int, n: int, notes: list[str]) -> str | None:
        """A message box that the last step brought up and the task does not mention: an
        information box (one OK/Close button) is closed; one that reports an error stops the
        run with call_user quoting it. None when there is none, or when the next step acts on
        it (its target is in the box)."""
        changed = view.cache.get("last_changed") or []
        inside = [line for line in view.lines
                  if any(c[0] <= line.center[0] < c[2] and c[1] <= line.center[1] < c[3] for c in changed)]
        drawn = [line for line in inside if controls.enclosing_box(view.image, line.box) is not None]
        # Yes before OK before Confirm (a dialog titled "Confirm" must not be its own button)
        yes = sorted((line for line in drawn if normalize(line.text) in _YES_CAPTIONS),
                     key=lambda line: _YES_CAPTIONS.index(normalize(line.text)))
        no = [line for line in drawn if normalize(line.text) in _NO_CAPTIONS]
        close = [line for line in drawn if normalize(line.text) in _CLOSE_CAPTIONS]
        question = bool(yes and no)
        if not (question or close):
            return None
        if nxt is not None and nxt.target is not None and find_matches(nxt.target.text, inside, view.threshold):
            return None
        buttons = yes + no + close
        message = " ".join(line.text.strip() for line in inside if line not in buttons)[:200]
        step = min(k, n - 1) + 1
        if _ERROR_WORDS.search(message):
            return self._format(step, n, None, " ".join(notes + [
                f'A message appeared that reports a problem: "{message}". Closing it would not fix it; '
                "handing over to the user."]), [CallUser()])
        if question:
            # the program asks to confirm what the step just asked it to do ("Place this order?")
            ok = yes[0]
            why = (f'The program asks "{message}" after the step I was asked to do; I confirm it with '
                   f'"{ok.text.strip()}" at {_pt(ok.center)}.')
        else:
            ok = close[0]
            why = (f'A message appeared ("{message}"); the task does not mention it, so I close it with '
                   f'"{ok.text.strip()}" at {_pt(ok.center)}.')
        return self._format(step, n, DISMISSING, " ".join(notes + [why]), [Click(*ok.center), _away(view)])

    def _verify(self, cmd: Command, view: _View, before: "Image | None") -> tuple[bool, str]:
        """(confirmed, what was checked or what was seen instead) for step ``cmd`` on ``view``;
        ``before``: the screenshot the step was decided on (None when it left the history)."""
        verb = cmd.verb
        if verb == "wait":
            return True, "waited"
        if before is None and verb not in ("check", "uncheck", "select"):
            return False, "no earlier screenshot to compare with (keep at least 2 history images)"
        changed = self._changed(view, before)
        if verb == "type":
            return self._verify_typed(cmd, view, changed)
        if verb in ("check", "uncheck"):
            return self._verify_checked(cmd, view, changed)
        if verb == "select":
            option = cmd.text or ""
            try:
                _, rect, _ = self._field(view, _need(cmd.target))
            except _NotFound:
                rect = None
            if rect is not None:
                inside = verify.text_in_rect(view.lines, rect)
                if find_matches(option, [TextBox(inside, (rect.x1, rect.y1, rect.x2, rect.y2))], view.threshold):
                    return True, f'"{_need(cmd.target).text}" shows "{inside}"'
                return False, f'"{_need(cmd.target).text}" shows "{inside or "nothing I can read"}", not "{option}"'
            return (bool(changed), "the list changed" if changed else "nothing changed after choosing")
        if verb == "set":
            return self._verify_set(cmd, view, changed)
        if verb == "compute":
            near = [line for line in view.lines if any(verify.overlaps(line.box, c) for c in changed)]
            for line in near:
                if verify._fold(line.text.strip().rstrip(".")) == verify._fold(cmd.expect or ""):
                    return True, f'the display shows {cmd.expect}'
            return False, (f"the display does not show {cmd.expect}"
                           + (f' (I read "{" ".join(ln.text for ln in near)[:60]}")' if near else ""))
        if verb in ("press", "hotkey"):
            keys = "+".join(cmd.keys)
            if changed:
                return True, f"the screen changed after {keys}"
            if all(k in _NAVIGATION or k in ("ctrl", "shift") for k in cmd.keys):
                return True, f"{keys} moves the cursor only; nothing else was to be seen"
            return False, f"nothing on screen changed after pressing {keys}"
        if verb == "scroll":
            return True, ("the view moved" if changed else "nothing moved (already at the end)")
        if verb in ("click", "double_click", "right_click", "drag"):
            if changed:
                x1, y1, x2, y2 = changed[0]
                return True, f"the screen changed (largest change at {_pt(((x1 + x2) / 2, (y1 + y2) / 2))})"
            if verb == "click" and cmd.target is not None:
                # a button whose work is not drawn (Apply, Save settings): what vouches for the
                # click is that it hit a drawn control whose caption reads exactly as asked
                try:
                    match = self._find(view, cmd.target)
                except _NotFound:
                    match = None
                if match is not None and match.score >= 95 and \
                        controls.enclosing_box(view.image, match.box) is not None:
                    return True, (f'nothing visible changed, but the click hit the control "{_label(match, cmd.target)}" '
                                  "whose caption reads exactly as asked")
            return False, "nothing on screen changed after the click"
        return bool(changed), "the screen changed" if changed else "nothing on screen changed"

    def _verify_typed(self, cmd: Command, view: _View, changed: list) -> tuple[bool, str]:
        ok, what = self._read_typed(cmd, view, changed)
        if not ok and self._full_lines(view) is not view.lines:
            view.lines = self._full_lines(view)
            ok, what = self._read_typed(cmd, view, changed)
        return ok, what

    def _read_typed(self, cmd: Command, view: _View, changed: list) -> tuple[bool, str]:
        text = (cmd.text or "").rstrip("\n")
        clicked = view.cache.get("clicked")
        if cmd.target is not None and clicked is not None:
            # the field that was clicked and typed into, read from its own cut: the judge (the
            # line reading can lose a character under the caret, "3|1" read as "3")
            frame = controls.frame_at(view.image, *clicked)
            if frame is not None:
                own = self._read_cut(view, frame)
                if own is not None:
                    if verify.same_text(text, own) or (len(text) >= 8 and verify.reads_back(text, own)):
                        return True, f'the field "{cmd.target.text}" shows "{own}"'
                    return False, f'the field "{cmd.target.text}" shows "{own}", not "{text}"'
        if cmd.target is not None:
            try:
                _, rect, match = self._field(view, cmd.target)
            except _NotFound:
                rect, match = None, None  # a placeholder that typing replaced: look where it changed
            if rect is not None and match is not None:
                seen = verify.text_in_rect(view.lines, rect,
                                           exclude=None if rect.contains(*match.center) else match.line)
                own = self._read_field(view, rect, match)
                if own is not None:
                    # the field's own cut, read alone, is the judge: the line reading can lose a
                    # character under the caret ("3|1" read as "3")
                    if verify.same_text(text, own) or (len(text) >= 8 and verify.reads_back(text, own)):
                        return True, f'the field "{cmd.target.text}" shows "{own}"'
                    return False, f'the field "{cmd.target.text}" shows "{own}", not "{text}"'
                if verify.reads_back(text, seen):
                    return True, f'the field "{cmd.target.text}" shows "{seen}"'
                if "password" in cmd.target.text.lower() and any(
                        verify.overlaps(c, (rect.x1, rect.y1, rect.x2, rect.y2)) for c in changed):
                    return True, "the password field filled (its text cannot be read back)"
                return False, f'the field "{cmd.target.text}" shows "{seen or "nothing I can read"}", not "{text}"'
            if match is not None:
                # no frame around the field: the reading on the label's row, less the label,
                # must be what was typed and nothing more ("Quantity13" is not "3")
                row = [line for line in view.lines
                       if abs(line.center[1] - match.center[1]) < match.height * 0.6]
                rest = " ".join(line.text for line in sorted(row, key=lambda ln: ln.box[0]))
                at = rest.lower().find(cmd.target.text.lower())
                if at >= 0:
                    rest = rest[:at] + rest[at + len(cmd.target.text):]
                rest = rest.strip(" :")
                if verify.same_text(text, rest):
                    return True, f'"{cmd.target.text}" now reads "{rest}"'
                return False, f'next to "{cmd.target.text}" I read "{rest or "nothing"}", not "{text}"'
        near = [line for line in view.lines if any(verify.overlaps(line.box, c) for c in changed)]
        seen = " ".join(line.text for line in near)
        if verify.reads_back(text, seen):
            return True, f'"{text}" appeared on screen'
        tail = verify.last_token(text)
        if tail and tail != text and any(normalize(line.text) == normalize(tail) for line in near):
            return True, f'the display now shows "{tail}", the end of what I typed'
        return False, (f'"{text}" does not appear where the screen changed'
                       + (f' (I read "{seen[:60]}")' if seen else ""))

    def _read_field(self, view: _View, rect: "controls.Rect", label: Match) -> str | None:
        """The text of a one-line field read from its own cut (inside its frame) by the
        recogniser alone; None for a multi-line box, a field that holds the label itself, or a
        reading the recogniser is unsure of."""
        if rect.height > 3.5 * max(label.height, 8) or rect.contains(*label.center):
            return None
        return self._read_cut(view, rect)

    def _read_cut(self, view: _View, rect: "controls.Rect") -> str | None:
        """``rect``'s inside (2 px in from its frame) read by the recogniser alone; None when it
        is too small or the recogniser is unsure."""
        import numpy as np

        from tars.models.lite.ocr import get_engine

        x1, y1, x2, y2 = rect.x1 + 2, rect.y1 + 2, rect.x2 - 2, rect.y2 - 2
        if x2 - x1 < 8 or y2 - y1 < 8:
            return None
        rgb = np.asarray(view.image.convert("RGB"))
        crop = np.ascontiguousarray(rgb[y1:y2, x1:x2, ::-1])
        engine = get_engine(self.ocr_scale, self.device, line_cache=self.ocr_line_cache)
        ((text, score),) = engine.recognize([crop])
        return text.strip() if score >= 0.5 else None

    def _verify_set(self, cmd: Command, view: _View, changed: list) -> tuple[bool, str]:
        typed = Command("type", cmd.source, target=cmd.target, text=cmd.text)
        ok, what = self._verify_typed(typed, view, changed)
        if ok:
            return ok, what
        # a list choice shows in the closed control: the option as the control's own text
        try:
            _, rect, match = self._field(view, _need(cmd.target))
        except _NotFound:
            return ok, what
        if rect is not None and find_matches(cmd.text or "", [
                TextBox(verify.text_in_rect(view.lines, rect), (rect.x1, rect.y1, rect.x2, rect.y2))], view.threshold):
            return True, f'"{_need(cmd.target).text}" shows "{cmd.text}"'
        return ok, what

    def _verify_checked(self, cmd: Command, view: _View, changed: list) -> tuple[bool, str]:
        if cmd.parts:
            try:
                self._find(view, _need(cmd.target))
            except _NotFound:
                seen = []
                for part in cmd.parts:
                    one = Command(cmd.verb, cmd.source, target=part)
                    ok, what = self._verify_checked(one, view, changed)
                    if not ok:
                        return ok, what
                    seen.append(what)
                return True, "; ".join(seen)
        want = cmd.verb == "check"
        try:
            match = self._find(view, _need(cmd.target))
        except _NotFound as why:
            return False, str(why)
        box = controls.checkbox_near(view.image, match.box)
        if box is not None:
            state = controls.is_checked(view.image, box)
            if state == want:
                return True, f'the box "{_need(cmd.target).text}" is {"checked" if want else "unchecked"}'
            return False, f'the box "{_need(cmd.target).text}" is still {"checked" if state else "unchecked"}'
        x1, y1, x2, y2 = match.box
        h = y2 - y1
        row = (x1 - 5 * h, y1 - h / 2, x1 + h, y2 + h / 2)
        if any(verify.overlaps(c, row) for c in changed):
            return True, f'the control left of "{_need(cmd.target).text}" changed (no square box to read)'
        return False, f'nothing changed next to "{_need(cmd.target).text}"'

    def _retry(self, cmd: Command, view: _View) -> "_Answer | None":
        """The same step by another route, or None when there is none that is safe."""
        try:
            if cmd.verb in ("type", "set") and cmd.target is not None:
                xy, rect, _ = self._field(view, cmd.target)
                text = cmd.text or ""
                # slower this time: one character per action (a slow program may drop keys)
                keys: list[Action] = [Type(ch) for ch in text] if len(text) <= 40 else [Type(text)]
                # End then Shift+Home selects the line in every toolkit (Ctrl+A is "line start"
                # in Tk's Emacs bindings)
                return _Answer(f"I click the field at {_pt(xy)}, select its line with End and Shift+Home "
                               f'and type "{text}" one character at a time.',
                               [Click(*xy), Wait(FOCUS_SETTLE), Press("end"), Hotkey(("shift", "home")), *keys])
            if cmd.verb in ("check", "uncheck"):
                match = self._find(view, _need(cmd.target))
                return _Answer(f'I click the caption "{_label(match, _need(cmd.target))}" at {_pt(match.center)}.',
                               [Click(*match.center)])
            if cmd.verb == "click":
                match = self._find(view, _need(cmd.target))
                around = controls.enclosing_box(view.image, match.box)
                if around is not None:
                    cx, cy = around.center
                    mx, my = match.center
                    if abs(cx - mx) > 4 or abs(cy - my) > 4:
                        return _Answer(f"I click the middle of the control around it at {_pt(around.center)}.",
                                       [Click(cx, cy)])
        except _NotFound:
            return None
        return None

    def close(self) -> None:
        """Nothing to free: the OCR engine is shared by the process (see :mod:`.ocr`)."""

    # -- helpers ----------------------------------------------------------------------------------
    def _plan(self, instruction: str) -> list[Command]:
        with self._lock:
            plan = self._plans.get(instruction)
            if plan is None:
                plan = self._plans[instruction] = parse_instruction(instruction)
            return plan

    def _view(self, image: "Image") -> _View:
        from tars.models.lite.ocr import get_engine

        result = get_engine(self.ocr_scale, self.device, line_cache=self.ocr_line_cache).read(image)
        self.last_ocr_seconds = result.seconds
        self.last_ocr = result
        return _View(image, result.lines, self.threshold)

    def _full_lines(self, view: _View) -> list[TextBox]:
        """The whole screenshot read again without reusing anything from earlier frames (the
        incremental read can miss a line whose region it did not detect again: issue 17 saw
        typed text and labels that a full read finds). Cached per view."""
        if "full" not in view.cache:
            from tars.models.lite.ocr import get_engine

            if self.ocr_line_cache == 0:
                view.cache["full"] = view.lines
            else:
                engine = get_engine(self.ocr_scale, self.device, line_cache=0)
                view.cache["full"] = engine.read(view.image).lines
        return view.cache["full"]

    @staticmethod
    def _summary(steps: list[Command]) -> str:
        return f"Done and checked: {'; '.join(c.source for c in steps)}"

    @staticmethod
    def _format(k: int, n: int, tag: str | None, thought: str, actions: list[Action]) -> str:
        head = f"Part {k} of {n}" + (f" ({tag})" if tag else "")
        body = "\n\n".join(a.to_text() for a in actions)
        return f"Thought: {head}: {thought}\nAction: {body}"

    # -- finding things -------------------------------------------------------------------------
    def _find(self, view: _View, target: Target) -> Match:
        """Where ``target`` is: in the incremental OCR lines, else in a full read of the screen,
        else (for short captions) among the glyphs read off unlabelled keys; each time under
        its own text first, then the other captions of a symbol key (:mod:`.symbols`)."""
        day = _calendar_day(target.text, view.lines, view.threshold)
        if day is not None:
            # "December 15" on a calendar showing December: the day's number, not the month's name
            match = pick(day, self._readings_all(view), 1, view.threshold)
            if match is not None:
                return match
        names = symbols.alternatives(target.text)
        for lines in self._readings(view, short=min(len(n) for n in names) <= 2):
            for name in names:
                match = pick(name, lines, target.ordinal, view.threshold)
                if match is not None:
                    view.lines = lines  # what the rest of this step reads, too
                    return match
        seen = find_matches(target.text, view.lines, view.threshold)
        if seen and target.ordinal != 1:
            raise _NotFound(f'I see only {len(seen)} "{target.text}" on screen, not {target.describe()}.')
        raise _NotFound(f'I do not see {target.describe()} on the screen.')

    def _readings_all(self, view: _View) -> list[TextBox]:
        """Every reading at once: the full read and the glyph cuts."""
        return list(self._readings(view, short=True))[-1]

    def _readings(self, view: _View, short: bool):
        """The readings of the screen, cheapest first (see :meth:`_find`)."""
        yield view.lines
        full = self._full_lines(view)
        if full is not view.lines:
            yield full
        if short:
            if "glyphs" not in view.cache:
                from tars.models.lite.ocr import get_engine

                engine = get_engine(self.ocr_scale, self.device, line_cache=self.ocr_line_cache)
                view.cache["glyphs"] = full + glyphs.read_glyphs(view.image, full, engine)
            yield view.cache["glyphs"]

    def _field(self, view: _View, target: Target) -> tuple[tuple[float, float], "controls.Rect | None", Match]:
        """Where to click to focus the field named by ``target``: the box right of/below the
        label, else the control drawn around the text (a field showing its value or
        placeholder), else the text itself."""
        match = self._find(view, target)
        candidates = [match]
        if target.ordinal == 1:
            # equal readings elsewhere (a window title "Age" above the form's "Age" label): the
            # one with a field next to it is the label
            candidates += [m for m in find_matches(target.text, view.lines, view.threshold)
                           if m.line is not match.line and m.score >= match.score - 1]
        for cand in candidates:
            label = cand.box
            at = cand.line.text.lower().find(target.text.lower())
            if cand.whole and at >= 0 and len(cand.line.text.strip()) > len(target.text):
                # OCR joined the label and the value next to it ("Quantity1"): the label is the part
                label = _sub_box(cand.line, at, at + len(target.text))
            rect = controls.field_near(view.image, label)
            if rect is not None:
                return rect.center, rect, cand
        around = controls.enclosing_box(view.image, match.box)
        if around is not None:
            return match.center, around, match
        return match.center, None, match

    def _point(self, view: _View, target: Target) -> tuple[tuple[float, float], str]:
        """Point to click for ``target`` and words for the thought."""
        if target.role in ("field", "dropdown"):
            xy, rect, match = self._field(view, target)
            what = "field" if target.role == "field" else "dropdown"
            where = "next to" if rect is not None and not rect.contains(*match.center) else "at"
            return xy, f'the {what} {where} "{_label(match, target)}" at {_pt(xy)}'
        if target.role == "slider":
            match = self._find(view, target)
            track = controls.slider_near(view.image, match.box)
            if track is None:
                raise _NotFound(f'I see "{_label(match, target)}" but no slider next to it.')
            return track.center, f'the slider "{_label(match, target)}" at {_pt(track.center)}'
        if target.role == "checkbox":
            match = self._find(view, target)
            box = controls.checkbox_near(view.image, match.box)
            xy = box.center if box is not None else match.center
            return xy, f'the check box "{_label(match, target)}" at {_pt(xy)}'
        match = self._find(view, target)
        label = _label(match, target)
        if match.whole and label.endswith(":") and target.role != "text":
            # a form label: the user means the field it names
            rect = controls.field_near(view.image, match.box)
            if rect is not None:
                return rect.center, f'the field next to "{label}" at {_pt(rect.center)}'
        return match.center, f'"{label}" at {_pt(match.center)}'

    # -- one step ---------------------------------------------------------------------------------
    def _decide(self, cmd: Command, view: _View, opened: bool) -> _Answer:
        verb = cmd.verb
        if verb in ("click", "double_click", "right_click"):
            xy, words = self._point(view, _need(cmd.target))
            cls = {"click": Click, "double_click": DoubleClick, "right_click": RightClick}[verb]
            how = {"click": "click", "double_click": "double-click", "right_click": "right-click"}[verb]
            return _Answer(f"I see {words}; I {how} it.", [cls(*xy)])
        if verb == "type":
            typed = Type(cmd.text or "")
            if cmd.target is None:
                return _Answer(f'I type "{cmd.text}" where the cursor is.', [typed])
            xy, rect, match = self._field(view, cmd.target)
            # the focus must have moved before the first key (issue 17: the first letters of an
            # email once landed in the previous field)
            actions: list[Action] = [Click(*xy), Wait(FOCUS_SETTLE)]
            # what the field shows already, also from a line OCR joined with the label ("Quantity1")
            filled = rect is not None and bool(verify.text_in_rect(view.lines, rect).strip())
            if rect is None or rect.contains(*match.center):
                # the text we matched is the field's own content, or no frame was found to
                # tell (a spin box drawn flat: "Quantity1"): what it holds is replaced
                filled = True
            thought = f'The field for "{_label(match, cmd.target)}" is at {_pt(xy)}; I click it'
            if filled:
                actions.append(Hotkey(("ctrl", "a")))
                thought += ", select what it holds"
            actions.append(typed)
            return _Answer(f'{thought} and type "{cmd.text}".', actions)
        if verb in ("press", "hotkey") and cmd.target is not None:
            xy, words = self._point(view, cmd.target)
            return _Answer(f"I click {words} to give it the keyboard and press {'+'.join(cmd.keys)}.",
                           [Click(*xy), Wait(FOCUS_SETTLE), Hotkey(cmd.keys) if len(cmd.keys) > 1 else Press(cmd.keys[0])])
        if verb == "press":
            if len(cmd.keys) > 1:  # "press 8 and 1": one key after the other
                return _Answer(f"I press {', then '.join(cmd.keys)}.", [Press(k) for k in cmd.keys])
            return _Answer(f"I press {cmd.keys[0]}.", [Press(cmd.keys[0])])
        if verb == "hotkey":
            return _Answer(f"I press {'+'.join(cmd.keys)}.", [Hotkey(cmd.keys)])
        if verb == "set":
            return self._set(cmd, view, opened)
        if verb == "compute":
            actions = [Type(cmd.text or "")]
            what = f'I type "{cmd.text}"'
            if cmd.keys:
                actions.append(Press(cmd.keys[0]))
                what += f" and press {cmd.keys[0]} for the result"
            if cmd.target is not None:
                xy, words = self._point(view, cmd.target)
                actions.append(Click(*xy))
                what += f", then click {words}"
            return _Answer(f"{what}; the display should then show {cmd.expect}.", actions)
        if verb == "wait":
            if not cmd.seconds:
                return _Answer("I wait for the screen to change.", [Wait()])
            seconds = min(cmd.seconds, 60.0)  # the action language allows 0-60 s per wait
            return _Answer(f"I wait {seconds:g} seconds for the screen to change.", [Wait(seconds)])
        if verb == "scroll":
            if cmd.target is None:
                return _Answer(f"I scroll {cmd.direction} where the pointer is.",
                               [Scroll(None, None, cmd.direction or "down")])
            xy, words = self._point(view, cmd.target)
            return _Answer(f"I scroll {cmd.direction} over {words}.", [Scroll(xy[0], xy[1], cmd.direction or "down")])
        if verb == "drag":
            a, wa = self._point(view, _need(cmd.target))
            b, wb = self._point(view, _need(cmd.dest))
            return _Answer(f"I drag {wa} to {wb}.", [Drag(a[0], a[1], b[0], b[1])])
        if verb in ("check", "uncheck"):
            return self._check(cmd, view)
        if verb == "select":
            return self._select(cmd, view, opened)
        raise PolicyError(f"lite has no rule for {verb!r}")  # parse_step only makes known verbs

    def _check(self, cmd: Command, view: _View) -> _Answer:
        if cmd.parts:
            try:
                self._find(view, _need(cmd.target))
            except _NotFound:
                return self._check_parts(cmd, view)
        match = self._find(view, _need(cmd.target))
        box = controls.checkbox_near(view.image, match.box)
        caption = _label(match, _need(cmd.target))
        if box is None:
            raise _NotFound(f'I see "{caption}" but no check box next to it.')
        want = cmd.verb == "check"
        if controls.is_checked(view.image, box) == want:
            raise _Skip(f'"{caption}" is already {"checked" if want else "unchecked"}.')
        return _Answer(f'The check box "{caption}" at {_pt(box.center)} is '
                       f'{"unchecked" if want else "checked"}; I click it to {cmd.verb} it.',
                       [Click(*box.center)])

    def _check_parts(self, cmd: Command, view: _View) -> _Answer:
        """``tick Milk and Eggs``: every caption that is not yet in the asked state, clicked in
        one answer (each is checked on the next screen)."""
        want = cmd.verb == "check"
        clicks: list[Action] = []
        said: list[str] = []
        for part in cmd.parts:
            match = self._find(view, part)
            box = controls.checkbox_near(view.image, match.box)
            if box is not None and controls.is_checked(view.image, box) == want:
                continue
            xy = box.center if box is not None else match.center
            clicks.append(Click(*xy))
            said.append(f'"{_label(match, part)}" at {_pt(xy)}')
        if not clicks:
            raise _Skip(f'{", ".join(p.text for p in cmd.parts)} are already {"checked" if want else "unchecked"}.')
        return _Answer(f"I click {' and '.join(said)} to {cmd.verb} them.", clicks)

    def _set(self, cmd: Command, view: _View, opened: bool) -> _Answer:
        """``set X to V``: focus the control next to X (first answer, tagged like opening a
        list), then on the next screen choose V from the list it opened, or replace what the
        field holds with V."""
        value = cmd.text or ""
        try:
            xy, rect, match = self._field(view, _need(cmd.target))
        except _NotFound:
            if not opened:
                raise
            xy, rect, match = None, None, None
        if not opened:
            if xy is None or match is None:
                raise _NotFound(f'I do not see "{_need(cmd.target).text}" on the screen.')
            if rect is not None:
                inside = verify.text_in_rect(view.lines, rect, exclude=match.line if not rect.contains(*match.center) else None)
                if normalize(inside) == normalize(value):
                    raise _Skip(f'"{_need(cmd.target).text}" already shows "{value}".')
            return _Answer(f'The control for "{_need(cmd.target).text}" is at {_pt(xy)}; I click it to set it to "{value}".',
                           [Click(*xy)], tag=OPENING)
        # a list that opened: the option outside the control's own box
        options = [m for m in find_matches(value, view.lines, view.threshold)
                   if m.whole and (rect is None or not rect.contains(*m.center))]
        if options:
            m = options[0]
            return _Answer(f'A list opened; I click "{m.line.text.strip()}" at {_pt(m.center)}.', [Click(*m.center)])
        return _Answer(f'The field "{_need(cmd.target).text}" has the keyboard; I select what it holds and type "{value}".',
                       [Hotkey(("ctrl", "a")), Type(value)])

    def _select(self, cmd: Command, view: _View, opened: bool) -> _Answer:
        option = cmd.text or ""
        try:
            xy, rect, match = self._field(view, _need(cmd.target))
        except _NotFound:
            if not opened:
                raise
            rect = None
        if not opened:
            if rect is not None:
                inside = [line for line in view.lines if rect.contains(*line.center)]
                if find_matches(option, inside, view.threshold) and \
                        find_matches(option, inside, view.threshold)[0].whole:
                    raise _Skip(f'"{option}" is already selected in "{_need(cmd.target).text}".')
            return _Answer(f'The dropdown "{_need(cmd.target).text}" is at {_pt(xy)}; I open it to choose "{option}".',
                           [Click(*xy)], tag=OPENING)
        matches = find_matches(option, view.lines, view.threshold)
        # the open list, not the closed box that may show the same words
        outside = [m for m in matches if rect is None or not rect.contains(*m.center)]
        chosen = (outside or matches)[:1]
        if not chosen:
            raise _NotFound(f'The list is open but I do not see the option "{option}".')
        m = chosen[0]
        return _Answer(f'The list is open; I click the option "{_label(m, Target(option))}" at {_pt(m.center)}.',
                       [Click(*m.center)])
