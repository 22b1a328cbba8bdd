"""The policy seam: a :class:`Prompt` (instruction, screenshots, past turns) in, model text out.

Every policy (``lite``, ``hf``, ``openai``) implements :class:`Policy`; nothing else in tars
depends on which one ran (DESIGN.md, Data flow). The prompt is built by ``tars.agent.history`` in
the message shape UI-TARS was trained on; :meth:`Prompt.messages` renders it as chat messages
with PIL images, which ``hf`` feeds to a processor's chat template and ``openai`` turns into
data URLs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tars.actions.coords import CoordSpace

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.models.profiles import ModelProfile


class PolicyError(RuntimeError):
    """A policy cannot answer: missing model, dead endpoint, bad settings. Message says why."""


class InstructionError(PolicyError):
    """The policy cannot follow this instruction (``lite``'s fixed grammar); raised by
    :meth:`Policy.prepare` or :meth:`Policy.act`. A grounding evaluation counts it as a miss."""


class Interrupted(PolicyError):
    """The answer in progress was abandoned because ``interrupt()`` was called (the Stop
    button); raised by ``act`` until ``reset_interrupt()``."""


@dataclass
class Turn:
    """One past or current step as the model sees it.

    ``image``: the screenshot shown before the answer (screenshot pixels), or None when it fell
    out of the history window (only the text stays). ``response``: the model's answer (None for
    the turn being asked). ``feedback``: a user message sent after the answer (a ParseError or
    operator error to correct), or None.
    """

    image: "Image | None"
    response: str | None = None
    feedback: str | None = None


@dataclass
class Prompt:
    """Everything a policy needs for one answer.

    ``instruction``: the user's task. ``system``: the first user message (the UI-TARS prompt
    template with the instruction filled in). ``turns``: oldest first; the last has
    ``response=None``. ``space``: the coordinate space and pixel budget the answer must use.
    ``task``: ``computer`` | ``mobile`` | ``grounding``. ``layout``: how :meth:`messages` lays
    the request out (``agent``, ``agent-nosystem``, ``image-first``; see
    :mod:`tars.models.prompts`). ``sampling``: settings for this one request that override the
    policy's profile: ``temperature``, ``top_p``, ``frequency_penalty``, ``max_new_tokens``
    (the harness's numbers, OSWorld's temperature-1 retry); an explicit user setting such as
    ``--max-new-tokens`` still wins.
    """

    instruction: str
    system: str
    turns: list[Turn]
    space: CoordSpace = field(default_factory=CoordSpace)
    task: str = "computer"
    layout: str = "agent"
    sampling: dict[str, Any] = field(default_factory=dict)

    @property
    def screenshot(self) -> "Image | None":
        """The current screenshot: the newest image in the turns (None when there is none)."""
        for turn in reversed(self.turns):
            if turn.image is not None:
                return turn.image
        return None

    def messages(self) -> list[dict[str, Any]]:
        """Chat messages: ``[{"role", "content": [{"type": "text"|"image", ...}]}]``.

        Shape of the ``agent`` layout (OSWorld uitars15_v1): a system message, the template as
        the first user message, then per turn a user message with the screenshot (when kept),
        the assistant's answer, and the feedback as a user message when there is one.
        ``agent-nosystem`` leaves out the system message (OSWorld uitars15_v2);
        ``image-first`` puts the first screenshot before the template in one user message
        (UI-TARS README_v1 grounding).
        """
        from tars.models.prompts import SYSTEM_MESSAGE

        msgs: list[dict[str, Any]] = []
        if self.layout == "agent":
            msgs.append({"role": "system", "content": [{"type": "text", "text": SYSTEM_MESSAGE}]})
        turns = list(self.turns)
        if self.layout == "image-first" and turns and turns[0].image is not None:
            first = turns.pop(0)
            msgs.append({"role": "user", "content": [{"type": "image", "image": first.image},
                                                     {"type": "text", "text": self.system}]})
            turns.insert(0, Turn(None, first.response, first.feedback))
        else:
            msgs.append({"role": "user", "content": [{"type": "text", "text": self.system}]})
        for turn in turns:
            if turn.image is not None:
                msgs.append({"role": "user", "content": [{"type": "image", "image": turn.image}]})
            if turn.response is not None:
                msgs.append({"role": "assistant", "content": [{"type": "text", "text": turn.response}]})
            if turn.feedback:
                msgs.append({"role": "user", "content": [{"type": "text", "text": turn.feedback}]})
        return msgs

    def images(self) -> list["Image"]:
        """The screenshots in the prompt, oldest first."""
        return [t.image for t in self.turns if t.image is not None]


class Policy:
    """Base class of every policy: writes answers in its model's action language for a prompt.

    Subclasses set ``name`` (registry name) and ``space`` (the :class:`CoordSpace` its answers
    use) and implement :meth:`act`. Every other member has a working default here, so the loop,
    the run builder and the evals call them directly (no probing for optional members):

    * ``profile``: the model profile (:class:`tars.models.profiles.ModelProfile`) whose prompt
      template the loop renders; None means the default profile.
    * ``model_id``: the model recorded in meta.json (Hub id, folder, served name), or None.
    * :meth:`prepare` is called once before a run touches anything; :meth:`interrupt` (any
      thread) abandons an answer in progress; :meth:`reset_interrupt` at the start of each run.
    * :meth:`grounding_prompt` builds the one-screenshot request of a grounding evaluation.
    * :meth:`prefetch` is handed frames that may become the next screenshot while the screen
      settles, so a policy can prepare them off the critical path.
    """

    name: str = "policy"
    space: CoordSpace = CoordSpace()
    profile: "ModelProfile | None" = None
    model_id: str | None = None
    #: what the models said in the last ``act`` when more than one answered (the planner +
    #: grounder mode: ``{"planner": text, "grounder": [{"element", "answer", "point"}]}``);
    #: None for a single model. Recorded in the trajectory's step line.
    last_exchange: dict[str, Any] | None = None

    def act(self, prompt: Prompt) -> str:
        """Return the raw model text for ``prompt``.

        Raises:
            PolicyError: no answer can be had (:class:`Interrupted` after :meth:`interrupt`).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement act()")

    def prepare(self, instruction: str) -> None:
        """Check ``instruction`` before the run starts; raise :class:`PolicyError` for one the
        policy cannot follow (``lite`` does). Default: accept everything."""

    def interrupt(self) -> None:
        """Abandon the answer in progress (Stop button; may be called from any thread); ``act``
        then raises :class:`Interrupted`. Default: nothing to interrupt."""

    def reset_interrupt(self) -> None:
        """Clear an earlier :meth:`interrupt` (called at the start of each run)."""

    def prefetch(self, image: "Image") -> None:
        """``image`` (RGB screenshot, physical pixels) may be the screenshot of the next
        :meth:`act`: the loop calls this while it waits to see whether the screen has settled.
        Must return at once (start work in the background). Default: nothing to prepare."""

    def grounding_prompt(self, image: "Image", instruction: str) -> Prompt:
        """The request of a grounding evaluation: one screenshot and the element described by
        ``instruction``. Default: the grounding template of :attr:`profile` (the
        ``ScreenSpot`` protocol of the UI-TARS papers), answered in :attr:`space`."""
        from tars.models.profiles import get_profile
        from tars.models.prompts import system_prompt, template_for

        profile = self.profile if self.profile is not None else get_profile(self.model_id)
        return Prompt(
            instruction=instruction,
            system=system_prompt(profile, instruction, task="grounding"),
            turns=[Turn(image=image)],
            space=self.space,
            task="grounding",
            layout=template_for(profile, "grounding").layout,
        )

    def close(self) -> None:
        """Free models, sessions and connections. Default: nothing held."""


#: policy name -> "module:factory"; factories take keyword settings (model, adapter, ...)
POLICIES: dict[str, str] = {
    "lite": "tars.models.lite.policy:LitePolicy",
    "hf": "tars.models.hf:HFPolicy",
    "openai": "tars.models.openai_compat:OpenAIPolicy",
    "scripted": "tars.models.scripted:ScriptedPolicy",
}


#: the policies a user picks with --policy (``scripted`` serves tests and replays)
USER_POLICIES = ("lite", "hf", "openai")


def load_policy(name: str, **settings: Any) -> Policy:
    """Build the policy registered as ``name`` with ``settings`` (imports it lazily).

    Raises:
        PolicyError: unknown name, or the policy's extra is not installed.
    """
    target = POLICIES.get(name)
    if target is None:
        raise PolicyError(f"unknown policy {name!r}; choose one of {', '.join(USER_POLICIES)}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = {"lite": "lite", "hf": "hf", "openai": ""}.get(name, "")
        hint = f' (pip install "tars[{extra}]")' if extra else ""
        raise PolicyError(f"policy {name!r} cannot load: {exc}{hint}") from exc
    return getattr(module, attr)(**settings)
