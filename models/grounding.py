"""One grounding request -> one point: the step shared by ``tars eval grounding`` and the
grounder of the planner + grounder mode (:mod:`tars.models.planner`).

The request itself is the policy's :meth:`~tars.models.base.Policy.grounding_prompt` (the
evaluation may change its sampling for a harness first); the answer is parsed in whatever
dialect the model writes and its first point converted from the request's coordinate space to
image pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.actions.coords import CoordSpace
    from tars.models.base import Policy, Prompt


class NoPointError(ValueError):
    """The policy's answer held no point (unparseable text, or an action without a target)."""


def point_from_text(text: str, space: "CoordSpace", width: int, height: int) -> tuple[float, float]:
    """The first point of answer ``text``, in pixels of a width x height image (floats).

    Raises:
        NoPointError: the answer does not parse, or has no action with a point.
    """
    from tars.actions.parse import ParseError, parse_response

    try:
        step = parse_response(text)
    except ParseError as exc:
        raise NoPointError(f"unparseable answer: {exc}") from None
    for action in step.actions:
        for x, y in action.points():
            return space.to_pixels(x, y, width, height)
    names = ", ".join(a.name for a in step.actions) or "no action"
    raise NoPointError(f"answer has no point ({names})")


def ask_point(policy: "Policy", prompt: "Prompt", image: "Image") -> tuple[float, float]:
    """Ask ``policy`` the grounding ``prompt`` about ``image``; returns image pixels (floats).

    Raises:
        NoPointError: no point in the answer, or the policy cannot follow the description
            (:class:`~tars.models.base.InstructionError`: a miss, not a stop).
        PolicyError: the policy could not answer at all.
    """
    from tars.models.base import InstructionError

    try:
        text = policy.act(prompt)
    except InstructionError as exc:
        raise NoPointError(f"{policy.name} cannot follow {prompt.instruction!r}: {exc}") from None
    return point_from_text(text, prompt.space, *image.size)
