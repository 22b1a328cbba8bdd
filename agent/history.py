"""What the model sees of the past (DESIGN.md: history.py).

UI-TARS was trained on conversations of the shape: instruction prompt, then per step a
screenshot and the model's answer; only the last N screenshots are kept (N = 5 in the
UI-TARS reference agents), older steps stay as their answers in text. UI-TARS-1.0 saw its
past answers with coordinates inside ``<|box_start|>``/``<|box_end|>`` tokens, so answers
are re-wrapped that way for profiles that ask for it
(:func:`tars.models.prompts.add_box_tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tars.actions.coords import CoordSpace
from tars.models.base import Prompt, Turn
from tars.models.prompts import add_box_tokens

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.agent.harness import Harness
    from tars.models.profiles import ModelProfile

@dataclass
class _Entry:
    image: "Image | None"
    response: str
    feedback: str | None = None


class History:
    """The conversation so far, and the :class:`Prompt` for the next answer.

    ``max_images``: screenshots sent per prompt, the current one included (>= 1).
    ``box_tokens``: re-wrap past answers' boxes in box tokens (UI-TARS-1.0 profiles).
    ``layout``, ``sampling``: passed on to every :class:`~tars.models.base.Prompt`.
    """

    def __init__(
        self,
        instruction: str,
        system: str,
        space: CoordSpace,
        max_images: int = 5,
        box_tokens: bool = False,
        task: str = "computer",
        layout: str = "agent",
        sampling: dict[str, Any] | None = None,
    ) -> None:
        if max_images < 1:
            raise ValueError("history must keep at least the current screenshot (max_images >= 1)")
        self.instruction, self.system, self.space = instruction, system, space
        self.max_images, self.box_tokens, self.task = max_images, box_tokens, task
        self.layout, self.sampling = layout, dict(sampling or {})
        self.entries: list[_Entry] = []

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, image: "Image | None", response: str, feedback: str | None = None) -> None:
        """Append a finished step: the screenshot it saw (None: one that falls outside the
        window anyway) and the answer it gave.

        Screenshots that can no longer be sent are dropped here, so memory stays flat over
        long runs (a 1920x1080 frame is 6 MB).
        """
        self.entries.append(_Entry(image, response, feedback))
        old = len(self.entries) - self.max_images  # the current frame takes one more slot
        if old >= 0:
            self.entries[old].image = None

    def add_feedback(self, feedback: str) -> None:
        """Attach a message for the model to the last step (an operator or loop warning)."""
        if not self.entries:
            return
        last = self.entries[-1]
        last.feedback = f"{last.feedback}\n{feedback}" if last.feedback else feedback

    def prompt(self, image: "Image", failed: "Sequence[tuple[str, str]]" = ()) -> Prompt:
        """The prompt for the current step.

        ``image``: the current screenshot. ``failed``: earlier attempts at this step as
        (answer, error message) pairs, shown so the model can correct itself.
        """
        keep_from = len(self.entries) - (self.max_images - 1)
        turns: list[Turn] = []
        for i, e in enumerate(self.entries):
            response = add_box_tokens(e.response) if self.box_tokens else e.response
            turns.append(Turn(e.image if i >= keep_from else None, response, e.feedback))
        if failed:
            for j, (answer, error) in enumerate(failed):
                turns.append(Turn(image if j == 0 else None, answer, error))
            turns.append(Turn(None))
        else:
            turns.append(Turn(image))
        return Prompt(self.instruction, self.system, turns, self.space, self.task, self.layout,
                      dict(self.sampling))


def start_history(profile: "ModelProfile", harness: "Harness", instruction: str, space: CoordSpace,
                  max_images: int, language: str | None = None, task: str = "computer") -> History:
    """The empty history of a run of ``instruction``: the harness's version of ``profile``, its
    template for ``task`` filled in (in ``language``, None: the harness's), its sampling, and
    ``space`` (the policy's) with the harness's pixel budget.

    The one place a run's conversation starts: the agent loop and the training samples of
    ``tars finetune`` (:mod:`tars.agent.finetune.samples`) both call it, so a tuned model is
    trained on exactly the prompts it is later sent.

    Raises:
        ValueError: empty instruction, unknown task, ``max_images`` < 1.
    """
    from dataclasses import replace

    from tars.models import families
    from tars.models.prompts import system_prompt, template_for

    profile = harness.apply(profile)
    if not instruction or not instruction.strip():
        raise ValueError("the instruction is empty")
    language = language or harness.language
    if families.is_family(profile):  # a family renders its own messages from the Prompt
        text, layout = system_prompt(profile, instruction, language, task), "agent"
    else:
        template = template_for(profile, task)
        text, layout = template.render(instruction, language), template.layout
    sampling = {k: v for k, v in harness.sampling if k != "history_images"}
    space = replace(space, **dict(harness.space)) if harness.space else space
    return History(instruction, text, space, max_images=max_images, box_tokens=profile.box_tokens,
                   task=task, layout=layout, sampling=sampling)
