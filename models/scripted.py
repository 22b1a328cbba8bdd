"""A policy that replays canned model text, for tests, demos and evaluation replays.

It answers each :meth:`act` with the next reply of its script and raises
:class:`ScriptExhausted` when asked once more than it was scripted for, so a test can tell
that the loop called it an unexpected time. Every prompt it received is kept in
:attr:`prompts` so tests can check what the model would have been sent.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from tars.actions.coords import CoordSpace
from tars.models.base import Policy, PolicyError, Prompt


class ScriptExhausted(PolicyError):
    """The policy was asked for more answers than its script holds."""


class ScriptedPolicy(Policy):
    """Replays ``replies`` in order; a reply may be a string or ``callable(prompt) -> str``.

    ``space``: the coordinate space the scripted text is written in (default ``absolute``:
    screenshot pixels, so scripts can name exact pixels). ``delay``: seconds to sleep before
    each answer (to exercise stop/pause while "thinking").
    """

    name = "scripted"

    def __init__(
        self,
        replies: Iterable["str | Callable[[Prompt], str]"],
        space: CoordSpace | None = None,
        delay: float = 0.0,
    ) -> None:
        self.replies = list(replies)
        self.space = space or CoordSpace("absolute")
        self.delay = delay
        self.prompts: list[Prompt] = []
        self._stop = threading.Event()

    def act(self, prompt: Prompt) -> str:
        """Return the next scripted reply. Raises :class:`ScriptExhausted` past the end."""
        self.prompts.append(prompt)
        if self.delay:
            self._stop.wait(self.delay)
        index = len(self.prompts) - 1
        if index >= len(self.replies):
            raise ScriptExhausted(
                f"scripted policy called {index + 1} times but holds {len(self.replies)} replies"
            )
        reply = self.replies[index]
        return reply(prompt) if callable(reply) else reply

    def interrupt(self) -> None:
        """Wake a sleeping :meth:`act` at once (the Stop button)."""
        self._stop.set()

    def reset_interrupt(self) -> None:
        """Let :meth:`act` sleep its ``delay`` again (a new run begins)."""
        self._stop.clear()

    def close(self) -> None:
        """Wake a sleeping :meth:`act` (nothing else to free)."""
        self._stop.set()
