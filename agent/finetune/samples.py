"""Training samples, one per step, built by the code that builds the inference request.

For step *k* of a trajectory the prompt is made exactly as :class:`tars.agent.loop.Agent`
makes it during a run (:func:`tars.agent.history.start_history`: the profile's template in
the chosen language, the history window of screenshots, earlier answers re-wrapped in box
tokens for the profiles that ask for it), and it is tokenised by
:meth:`tars.models.hf.HFPolicy.build_inputs` (smart_resize budget, chat template), the method
``HFPolicy.act`` calls. The sample is the same conversation with step *k*'s answer as the
final assistant turn (``build_inputs(prompt, answer=...)``); :meth:`SampleSet.prepare`
checks, per sample, that its first tokens equal the inference prompt's token for token and
masks them: the loss is on the answer and its end-of-turn token only.

Answers are written in the profile's action language and coordinate space:

* a run recorded in the profile's own coordinate space keeps its response as the model wrote
  it (that text is what the history held during the run);
* a demonstration, or a run in another space, is written from the screen-point actions with
  :func:`tars.actions.coords.action_to_model` (``<point>x y</point>`` for Doubao-style
  profiles, box tokens for the profiles whose history uses them);
* the thought, with ``thought="keep"``, is the step's recorded thought (a demonstration has
  none, unless one was written into its steps.jsonl); ``"empty"`` writes none; any other
  string is a template (``{action}``: the action text, ``{instruction}``) used for every step.

Steps that ended in an error (a failed action, a refused one) are left out, and so are their
answers from the later steps' history: what is learnt is the run without that error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from tars.actions.coords import CoordSpace, ScreenGeometry, action_to_model
from tars.actions.space import Action, Drag, Finished, action_from_json
from tars.agent.finetune.data import Source
from tars.agent.history import start_history
from tars.models.base import Prompt
from tars.models.prompts import add_box_tokens

if TYPE_CHECKING:
    from tars.agent.schema import StepLine, TrajectoryMeta
    from tars.models.hf import HFPolicy
    from tars.models.profiles import ModelProfile

#: label value of masked positions (PyTorch cross-entropy's ignore_index)
IGNORE = -100


class SampleError(ValueError):
    """A step that cannot become a training sample (bad action, template disagreement)."""


@dataclass
class Example:
    """One step to learn: the screenshot file it saw and the answer to train on."""

    image: Path
    answer: str
    step_num: int


@dataclass
class Episode:
    """One trajectory's steps as examples, with its instruction and where it came from."""

    instruction: str
    examples: list[Example]
    source: Source
    dropped: int = 0


def _same_space(meta: "TrajectoryMeta", space: CoordSpace) -> bool:
    coords = meta.coords
    return (coords is not None and coords.kind == space.kind and coords.min_pixels == space.min_pixels
            and coords.max_pixels == space.max_pixels and (coords.factor or space.factor) == space.factor)


_BOX = re.compile(r"\b(start|end)_box='\((-?\d+),(-?\d+)\)'")


def _doubao(action: Action, text: str) -> str:
    """UI-TARS box text -> the ``<point>x y</point>`` form of the Doubao templates."""
    def point(m: re.Match) -> str:
        name = f"{m[1]}_point" if isinstance(action, Drag) else "point"
        return f"{name}='<point>{m[2]} {m[3]}</point>'"

    return _BOX.sub(point, text)


def action_text(action: Action, profile: "ModelProfile") -> str:
    """``action`` (model space) as the profile's models write it (box tokens are added to the
    whole answer by :func:`write_answer`)."""
    if isinstance(action, Finished) and not action.content and profile.prompt_style == "uitars-1.0":
        return "finished()"  # the UI-TARS-1.0 action space has no content argument
    text = action.to_text()
    return _doubao(action, text) if profile.prompt_style == "doubao" else text


def write_answer(step: "StepLine", geometry: ScreenGeometry, profile: "ModelProfile",
                 thought: str | None, instruction: str) -> str:
    """The answer text for a step from its screen-point actions (see the module docstring).

    Raises:
        SampleError: the step has no actions, or one that cannot be read back.
    """
    try:
        screen = [action_from_json(a.screen) for a in step.actions]
    except (KeyError, TypeError, ValueError) as exc:
        raise SampleError(f"step {step.step_num}: unreadable action ({exc})") from None
    if not screen:
        raise SampleError(f"step {step.step_num} has no action")
    model = [action_to_model(a, profile.space, geometry) for a in screen]
    actions = "\n\n".join(action_text(a, profile) for a in model)
    answer = f"Thought: {thought}\nAction: {actions}" if thought else f"Action: {actions}"
    # box tokens as the history will show the answer again (OSWorld's add_box_token)
    return add_box_tokens(answer) if profile.box_tokens and profile.prompt_style != "doubao" else answer


def episode_of(source: Source, profile: "ModelProfile", thought: str = "keep") -> Episode:
    """The examples of one trajectory for ``profile`` (``thought``: keep | empty | template).

    Raises:
        SampleError: a step whose actions cannot be read.
    """
    traj = source.trajectory
    meta = traj.meta
    instruction = meta.instruction
    verbatim = source.kind == "run" and thought == "keep" and _same_space(meta, profile.space)
    examples: list[Example] = []
    dropped = 0
    for step in traj.steps:
        if step.error or not step.actions:
            dropped += 1
            continue
        image = traj.screenshot_path(step)
        assert image is not None  # data.find_sources refused steps without one
        if verbatim and step.response:
            answer = step.response
        else:
            from PIL import Image

            with Image.open(image) as img:
                size = img.size
            known = step.geometry or meta.geometry
            geometry = ScreenGeometry.from_json(known.model_dump() if known else None, *size)
            if thought == "keep":
                text = step.thought
            elif thought == "empty":
                text = None
            else:
                first = step.actions[0].text or ""
                text = thought.format(action=first, instruction=instruction)
            answer = write_answer(step, geometry, profile, (text or "").strip() or None, instruction)
        examples.append(Example(image, answer, step.step_num))
    return Episode(instruction, examples, source, dropped)


def _open(path: Path):
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        return img.copy() if img.mode in ("RGB", "RGBA") else img.convert("RGB")


def prompt_at(episode: Episode, k: int, profile: "ModelProfile", space: CoordSpace,
              history_images: int, language: str | None, task: str = "computer",
              harness: str = "tars") -> Prompt:
    """The prompt the agent sends at step ``k`` (0-based) of ``episode`` under ``harness`` when
    the earlier steps were answered as the examples say. Only the screenshots inside the
    history window are read from disk."""
    from tars.agent.harness import get_harness

    rules = get_harness(harness, profile)
    history = start_history(profile, rules, episode.instruction, space, history_images, language, task)
    keep_from = k - (history_images - 1)
    for j, ex in enumerate(episode.examples[:k]):
        history.add(_open(ex.image) if j >= keep_from else None, ex.answer)
    return history.prompt(_open(episode.examples[k].image))


@dataclass
class SampleInfo:
    """Where a sample comes from and its sizes in tokens (filled by :meth:`SampleSet.prepare`)."""

    episode: int
    step: int
    prompt_tokens: int = 0
    answer_tokens: int = 0
    total_tokens: int = 0


@dataclass
class SampleSet:
    """All samples of some episodes for one policy (its processor, profile and space).

    ``history_images``, ``language`` (None: the harness's) and ``harness`` (``tars`` |
    ``osworld``, :mod:`tars.agent.harness`) are the agent settings the adapter will run with.
    """

    policy: "HFPolicy"
    episodes: list[Episode]
    history_images: int
    language: str | None = None
    task: str = "computer"
    selected: list[SampleInfo] | None = None
    harness: str = "tars"

    def __post_init__(self) -> None:
        #: the samples of this set (``selected``, or every step of every episode)
        self.infos: list[SampleInfo] = (
            self.selected if self.selected is not None else
            [SampleInfo(e, k) for e, ep in enumerate(self.episodes) for k in range(len(ep.examples))])

    def __len__(self) -> int:
        return len(self.infos)

    def prompt(self, i: int) -> Prompt:
        """The inference prompt of sample ``i``."""
        info = self.infos[i]
        return prompt_at(self.episodes[info.episode], info.step, self.policy.profile,
                         self.policy.space, self.history_images, self.language, self.task, self.harness)

    def answer(self, i: int) -> str:
        info = self.infos[i]
        return self.episodes[info.episode].examples[info.step].answer

    def _end(self, ids: list[int], start: int) -> int:
        """Index after the answer's end-of-turn token (the last position trained on)."""
        ends = self.policy._end_ids
        for j in range(start, len(ids)):
            if ids[j] in ends:
                return j + 1
        return len(ids)

    def encode(self, i: int, check: bool = False) -> dict[str, Any]:
        """Model inputs of sample ``i`` on the CPU, with ``labels`` (prompt masked with
        :data:`IGNORE`). ``check``: also tokenise the inference prompt and verify it is the
        sample's prefix (and record the sizes in ``infos[i]``).

        Raises:
            SampleError: the chat template renders the answered conversation with a prefix
                other than the inference prompt (training would not see what runs send).
        """
        prompt, answer = self.prompt(i), self.answer(i)
        full = self.policy.build_inputs(prompt, answer=answer, device="cpu")
        ids = full["input_ids"][0].tolist()
        info = self.infos[i]
        if check or not info.prompt_tokens:
            asked = self.policy.build_inputs(prompt, device="cpu")["input_ids"][0].tolist()
            if ids[: len(asked)] != asked:
                where = next((j for j, (a, b) in enumerate(zip(ids, asked)) if a != b), len(asked))
                raise SampleError(
                    f"sample {i} ({self.episodes[info.episode].source.folder}, step "
                    f"{info.step + 1}): the chat template renders the answered conversation "
                    f"differently from the inference prompt at token {where}"
                )
            info.prompt_tokens = len(asked)
            info.total_tokens = len(ids)
            info.answer_tokens = self._end(ids, len(asked)) - len(asked)
        import torch

        labels = torch.full_like(full["input_ids"], IGNORE)
        start, stop = info.prompt_tokens, info.prompt_tokens + info.answer_tokens
        labels[0, start:stop] = full["input_ids"][0, start:stop]
        out = dict(full)
        out["labels"] = labels
        return out

    def prepare(self, on_sample: Callable[[int], None] | None = None) -> None:
        """Encode every sample once with the prefix check (bad data fails before training)."""
        for i in range(len(self)):
            self.encode(i, check=True)
            if on_sample is not None:
                on_sample(i)

    def subset(self, indices: list[int]) -> "SampleSet":
        """The samples at ``indices`` (sharing episodes and policy)."""
        return SampleSet(self.policy, self.episodes, self.history_images, self.language, self.task,
                         [self.infos[i] for i in indices], self.harness)
