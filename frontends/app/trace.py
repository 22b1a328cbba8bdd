"""The app's trace rows: one step as the trace shows it, live or read from a trajectory.

No Qt here: rows are built on the worker thread (thumbnails drawn there) and read on the GUI
thread. Screenshots are PIL images in screenshot pixels; actions are in screen points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action, action_from_json
from tars.agent.hooks import StepRecord
from tars.frontends.markers import actions_to_pixels, describe_action, draw_actions
from tars.frontends.wording import exchange_in_words

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.agent.schema import StepLine
    from tars.agent.trajectory import Trajectory

#: thumbnail bounding box in the trace, pixels
THUMB_SIZE = (192, 120)


@dataclass
class TraceRow:
    """One step as the trace shows it.

    ``image``: the screenshot the model saw (PIL, screenshot pixels), or None with
    ``image_path`` set (opened trajectories load lazily) or when it was not recorded.
    ``actions``: in screen points of ``geometry``. ``timings_ms``: observe/think/act.
    """

    step_num: int
    thought: str
    actions: list[Action]
    geometry: ScreenGeometry | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    response: str = ""
    image: Image | None = None
    image_path: str | None = None
    thumbnail: Image | None = None
    #: planner + grounder answers in words (:func:`tars.frontends.wording.exchange_in_words`)
    exchange: str = ""

    @property
    def action_text(self) -> str:
        """The actions in words, one per line (or the error when there are none)."""
        text = "\n".join(describe_action(a) for a in self.actions)
        return text or (f"error: {self.error}" if self.error else "(no action)")

    @property
    def timings_text(self) -> str:
        """``observe 12 ms · think 850 ms · act 40 ms``."""
        return " · ".join(f"{k} {v:.0f} ms" for k, v in self.timings_ms.items())

    def load_image(self) -> Image | None:
        """The screenshot (loading it from ``image_path`` the first time), or None."""
        if self.image is None and self.image_path:
            from PIL import Image

            try:
                with Image.open(self.image_path) as im:
                    self.image = im.convert("RGB")
            except (OSError, ValueError):
                return None
        return self.image

    def marked_image(self) -> Image | None:
        """The screenshot with this step's actions marked (see :func:`tars.frontends.markers.draw_actions`)."""
        image = self.load_image()
        if image is None:
            return None
        geo = self.geometry or ScreenGeometry(image.width, image.height)
        return draw_actions(image, actions_to_pixels(self.actions, geo))

    def make_thumbnail(self) -> Image | None:
        """A small copy of :meth:`marked_image` for the trace (kept in :attr:`thumbnail`)."""
        if self.thumbnail is None:
            marked = self.marked_image()
            if marked is not None:
                marked.thumbnail(THUMB_SIZE)
                self.thumbnail = marked
        return self.thumbnail

    @classmethod
    def from_record(cls, record: StepRecord) -> TraceRow:
        """A live step (from the loop's ``step_end``)."""
        obs = record.observation
        return cls(
            step_num=record.step_num, thought=record.thought or "",
            actions=list(record.actions_screen), geometry=obs.geometry if obs is not None else None,
            timings_ms=dict(record.timings_ms), error=record.error, response=record.response,
            image=obs.image if obs is not None else None,
            exchange=exchange_in_words(record.exchange),
        )

    @classmethod
    def from_line(cls, step: StepLine, traj: Trajectory) -> TraceRow:
        """A recorded step (a steps.jsonl line of ``traj``, read through the schema)."""
        geo_json = step.geometry or traj.meta.geometry
        geo = None
        if geo_json is not None:
            try:
                geo = ScreenGeometry.from_json(geo_json.to_json())
            except (TypeError, ValueError):  # a hand-edited or foreign trajectory
                geo = None
        actions: list[Action] = []
        for entry in step.actions:
            try:
                actions.append(action_from_json(entry.screen))
            except (KeyError, TypeError, ValueError):
                continue  # an unreadable action is left out, the rest of the step is shown
        path = traj.screenshot_path(step)
        return cls(
            step_num=step.step_num, thought=step.thought or "",
            actions=actions, geometry=geo, timings_ms=dict(step.timings_ms),
            error=step.error, response=step.response,
            image_path=str(path) if path is not None else None,
        )


def load_trace(folder: str | Path) -> tuple[Any, list[TraceRow]]:
    """Read a trajectory folder (:func:`tars.agent.trajectory.read_trajectory`) into trace rows.

    Raises:
        FileNotFoundError: not a trajectory (no meta.json). ValueError: corrupt JSON.
    """
    from tars.agent.trajectory import read_trajectory

    traj = read_trajectory(folder)
    return traj, [TraceRow.from_line(s, traj) for s in traj.steps]
