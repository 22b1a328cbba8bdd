"""Planner + grounder: one model decides the next step in words, another finds the element.

This is the composition of the strongest open frameworks (Agent S2/S3 with a grounding model,
OSWorld's Jedi agents: GPT-4o plans, Jedi grounds): the **planner** (any OpenAI-compatible chat
model, or a local ``hf`` model) sees the screenshots and answers in the planner language::

    Thought: The note is typed; now I save it.
    Action: click(element='the Save button in the toolbar')

and the **grounder** (any policy with a grounding prompt: a grounding profile such as Jedi,
GTA1, Holo or UI-TARS-1.5, or ``lite``) turns each element description into a point on the
current screenshot (:func:`tars.models.grounding.ask_point`). The composite answers the
agent loop in UI-TARS text in **screenshot pixels** (``absolute`` space), so the loop, guards
and operators are unchanged. Every step keeps both answers in :attr:`PlannerGrounderPolicy.
last_exchange` (``planner``: its raw answer; ``grounder``: per element the description, the
grounder's raw answer and the point), which the trajectory records.

Planner language (parsed with the safe call reader :mod:`tars.actions.parse.pycall`):
``click`` / ``left_double`` / ``right_single`` / ``mouse_move`` ``(element=...)``,
``drag(start_element=..., end_element=...)``, ``scroll(direction=..., element=...)`` (element
optional), ``type(content=...)``, ``hotkey(key=...)``, ``wait()``, ``finished(content=...)``,
``call_user()``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tars.actions import space as sp
from tars.actions.coords import CoordSpace
from tars.actions.keys import UnknownKeyError, split_keys
from tars.actions.parse.errors import ParseError, clip
from tars.actions.parse.pycall import PyCall, read_calls
from tars.models.base import Interrupted, Policy, PolicyError, Prompt, Turn
from tars.models.profiles import get_profile

if TYPE_CHECKING:
    from PIL.Image import Image

PLANNER_PROMPT = """You are the planner of a desktop GUI agent. You see the screenshots of the screen and the steps so far, and you decide the next step. You never give coordinates: you describe the element to act on, and a separate grounding model finds it on the screen.

## Output Format
Thought: ...
Action: ...

## Action Space
click(element='description of the element')
left_double(element='description of the element')
right_single(element='description of the element')
mouse_move(element='description of the element')
drag(start_element='description', end_element='description')
scroll(direction='down or up or right or left', element='description of the area to scroll')
type(content='text') # use "\\n" at the end of content to submit
hotkey(key='ctrl c') # keys separated by spaces, lowercase
wait() # wait 5 s and look again
finished(content='what was achieved') # only when the goal is visibly reached
call_user() # when the task cannot be done or needs the user

## Note
- Give exactly one action per step.
- Describe an element by its visible text and where it is (e.g. "the Save button at the bottom right of the dialog"), so that it can be found on the screenshot alone.

## User Instruction
{instruction}
"""

_ACTION_RE = re.compile(r"^\s*Action\s*:\s*", re.I | re.M)
_THOUGHT_RE = re.compile(r"^\s*Thought\s*:\s*", re.I | re.M)
_POINTER = {"click": sp.Click, "left_double": sp.DoubleClick, "right_single": sp.RightClick,
            "mouse_move": sp.MoveTo, "hover": sp.MoveTo, "double_click": sp.DoubleClick,
            "right_click": sp.RightClick}


def planner_prompt(instruction: str) -> str:
    """The planner's first message for ``instruction``."""
    return PLANNER_PROMPT.format(instruction=instruction)


def split_answer(text: str) -> tuple[str, str]:
    """(thought, action code) of a planner answer.

    Raises:
        ParseError: no ``Action:`` line.
    """
    match = list(_ACTION_RE.finditer(text))
    if not match:
        raise ParseError(f"no 'Action:' in the planner's answer {clip(text.strip())!r}")
    head, code = text[: match[-1].start()], text[match[-1].end():]
    thought = _THOUGHT_RE.sub("", head, count=1).strip()
    return thought, code.strip().strip("`").strip()


def _arg(call: PyCall, name: str, position: int = 0, required: bool = True) -> Any:
    value = call.kwargs.get(name, call.args[position] if len(call.args) > position else None)
    if required and (not isinstance(value, str) or not value.strip()):
        raise ParseError(f"{clip(call.source)!r} needs {name}='...'")
    return value


class _Recording(Policy):
    """The grounder, answering as itself, with the raw text of its last answer kept."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.name, self.space = policy.name, policy.space
        self.profile, self.model_id = policy.profile, policy.model_id
        self.last_text: str | None = None

    def grounding_prompt(self, image: "Image", instruction: str) -> Prompt:
        return self.policy.grounding_prompt(image, instruction)

    def act(self, prompt: Prompt) -> str:
        self.last_text = self.policy.act(prompt)
        return self.last_text


class PlannerGrounderPolicy(Policy):
    """A planner policy and a grounder policy acting as one (see the module docstring).

    ``planner``: any policy whose answers are planner text (an ``openai`` or ``hf`` policy; its
    prompt is :func:`planner_prompt` in the UI-TARS message layout). ``grounder``: any policy
    that :func:`tars.models.grounding.ask_point` can ask (``lite``, a grounding profile).
    Answers are UI-TARS text in screenshot pixels (:attr:`space` is ``absolute``).

    Raises (from :meth:`act`):
        PolicyError: either model could not answer, or :attr:`max_attempts` planner answers in
            a row could not be used. An answer outside the planner language, or naming an
            element the grounder cannot find, goes back to the planner with the reason.
    """

    name = "planner+grounder"
    #: planner answers asked per step when one cannot be used (not the planner language, or an
    #: element the grounder cannot find); then :class:`PolicyError`
    max_attempts = 3

    def __init__(self, planner: Policy, grounder: Policy) -> None:
        self.planner = planner
        self.grounder = grounder
        self._grounder = _Recording(grounder)
        self.space = CoordSpace("absolute")
        # the loop's history keeps the combined answers as written (no box tokens); the planner
        # gets its own prompt from act(), so only this profile's history rules matter
        self.profile = get_profile("qwen2.5-vl")
        self.model_id = f"{planner.model_id or planner.name} + {grounder.model_id or grounder.name}"
        #: both answers of the last step: {"planner": str, "grounder": [ {...}, ... ]}
        self.last_exchange: dict[str, Any] | None = None
        # composite answer -> the planner answer it came from, to show the planner its own words
        self._planner_text: dict[str, str] = {}

    # -- Policy --------------------------------------------------------------------------
    def prepare(self, instruction: str) -> None:
        """Let the planner check the instruction (the grounder's ``prepare`` is not asked: it
        gets element descriptions, not the instruction; lite would refuse most instructions)."""
        self.planner.prepare(instruction)

    def interrupt(self) -> None:
        """Abandon the answer in progress of either model."""
        self.planner.interrupt()
        self.grounder.interrupt()

    def reset_interrupt(self) -> None:
        """Clear an earlier :meth:`interrupt` of both models."""
        self.planner.reset_interrupt()
        self.grounder.reset_interrupt()

    def close(self) -> None:
        """Close both policies."""
        for policy in (self.planner, self.grounder):
            policy.close()

    def grounding_prompt(self, image: "Image", instruction: str) -> Prompt:
        """A grounding request (``tars eval grounding``): one screenshot, one description;
        :meth:`act` hands it to the grounder alone (there is nothing to plan)."""
        return Prompt(instruction, instruction, [Turn(image=image)], self.space, "grounding")

    def act(self, prompt: Prompt) -> str:
        """Ask the planner for the next step, ground its elements, answer UI-TARS text in
        screenshot pixels. A ``grounding`` prompt goes to the grounder alone."""
        self.last_exchange = None
        if prompt.task == "grounding":
            record: dict[str, Any] = {"planner": None, "grounder": []}
            self.last_exchange = record
            try:
                x, y = self._ground(prompt.instruction, prompt.screenshot, record)
            except PolicyError:  # no point: an answer without one, which the evaluation counts as a miss
                return "Action: call_user()"
            return f"Action: {sp.Click(x, y).to_text()}"
        past = [Turn(t.image, self._planner_text.get(t.response, t.response) if t.response else t.response,
                     t.feedback) for t in prompt.turns[:-1]]
        image = prompt.screenshot
        rejected: list[dict[str, str]] = []
        for _ in range(self.max_attempts):
            # a rejected answer goes back to the planner with the reason, as the loop does with
            # an answer that does not parse (the current screenshot stays on the first attempt)
            retries = [Turn(image if i == 0 else None, r["planner"], r["error"]) for i, r in enumerate(rejected)]
            turns = past + (retries + [Turn(None)] if retries else [Turn(image)])
            planned = Prompt(prompt.instruction, planner_prompt(prompt.instruction), turns,
                             self.planner.space, prompt.task)
            text = self.planner.act(planned)
            exchange: dict[str, Any] = {"planner": text, "grounder": [], "rejected": rejected}
            self.last_exchange = exchange
            try:
                thought, code = split_answer(text)
                actions = [self._action(call, image, exchange) for call in read_calls(code)]
            except (ParseError, PolicyError) as exc:
                if isinstance(exc, Interrupted):
                    raise
                rejected.append({"planner": text, "error": f"Your answer could not be used: {exc}. "
                                                          "Answer again as Thought: ... Action: ..."})
                continue
            answer = f"Thought: {thought}\nAction: " + "\n\n".join(a.to_text() for a in actions)
            self._planner_text[answer] = text
            return answer
        raise PolicyError(f"the planner's last {self.max_attempts} answers could not be used; the last one: "
                          f"{rejected[-1]['error']}")

    # -- grounding -----------------------------------------------------------------------
    def _ground(self, description: str, image: "Image | None", exchange: dict[str, Any]) -> tuple[float, float]:
        from tars.models.grounding import NoPointError, ask_point

        if image is None:
            raise PolicyError("the planner + grounder needs a screenshot in the prompt")
        record: dict[str, Any] = {"element": description, "answer": None, "point": None}
        exchange["grounder"].append(record)
        self._grounder.last_text = None
        try:
            x, y = ask_point(self._grounder, self._grounder.grounding_prompt(image, description), image)
        except NoPointError as exc:
            record["answer"] = self._grounder.last_text
            record["error"] = str(exc)
            raise PolicyError(f"the grounder found no point for {description!r}: {exc}") from None
        record["answer"] = self._grounder.last_text
        record["point"] = [round(x, 1), round(y, 1)]
        return x, y

    def _action(self, call: PyCall, image: "Image | None", exchange: dict[str, Any]) -> sp.Action:
        fn = call.name
        if fn in _POINTER:
            x, y = self._ground(_arg(call, "element"), image, exchange)
            return _POINTER[fn](x, y)
        if fn in ("drag", "select"):
            x1, y1 = self._ground(_arg(call, "start_element"), image, exchange)
            x2, y2 = self._ground(_arg(call, "end_element", 1), image, exchange)
            return sp.Drag(x1, y1, x2, y2)
        if fn == "scroll":
            direction = str(_arg(call, "direction")).strip().lower()
            if direction not in sp.SCROLL_DIRECTIONS:
                raise ParseError(f"{clip(call.source)!r}: direction must be one of {', '.join(sp.SCROLL_DIRECTIONS)}")
            element = _arg(call, "element", 1, required=False)
            if isinstance(element, str) and element.strip():
                x, y = self._ground(element, image, exchange)
                return sp.Scroll(x, y, direction)
            return sp.Scroll(None, None, direction)
        if fn == "type":
            content = _arg(call, "content", required=False)
            if not isinstance(content, str):
                raise ParseError(f"{clip(call.source)!r} needs content='...'")
            return sp.Type(content)
        if fn == "hotkey":
            try:
                return sp.Hotkey(split_keys(_arg(call, "key")))
            except UnknownKeyError as exc:
                raise ParseError(f"{clip(call.source)!r}: {exc}") from None
        if fn == "wait":
            return sp.Wait()
        if fn == "finished":
            content = _arg(call, "content", required=False)
            return sp.Finished(content if isinstance(content, str) else "")
        if fn == "call_user":
            return sp.CallUser()
        raise ParseError(f"unknown planner action {fn}() in {clip(call.source)!r}")
