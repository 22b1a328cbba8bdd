"""The input backends behind one declared protocol, chosen the way python-mss chooses its own.

An operator moves the pointer, presses buttons and keys and types characters through an
:class:`InputBackend`. Two implement it: ``xtest`` (:class:`tars.desktop.x11_input.X11Input`,
XTest through python-xlib: X11, the default on Linux) and ``pynput``
(:class:`tars.desktop.pynput_input.PynputInput`: the default on Windows and macOS, and on X11
the fallback for a server without XTEST). :func:`make_input_backend` picks by platform unless
told, like ``mss.mss()`` picks ``mss.linux`` / ``mss.windows`` / ``mss.darwin``, importing only
the chosen module (each binds to a display or an OS API when it is built).

Points are integer **screen points**; keys are canonical names of
:data:`tars.actions.keys.KEY_TABLE`; button names are ``left`` | ``right`` | ``middle``.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

#: backend name -> "module:class"
BACKENDS: dict[str, str] = {
    "xtest": "tars.desktop.x11_input:X11Input",
    "pynput": "tars.desktop.pynput_input:PynputInput",
}


@runtime_checkable
class InputBackend(Protocol):
    """What an operator needs of an input layer. ``stop_event``: set to end a wait in
    progress (a backend that waits for the user's held keys checks it)."""

    stop_event: threading.Event

    def position(self) -> tuple[int, int]:
        """The pointer's position, screen points."""
        ...

    def move(self, x: int, y: int) -> None:
        """Move the pointer to (x, y), screen points."""
        ...

    def button(self, name: str, down: bool) -> None:
        """Press (``down``) or release a mouse button."""
        ...

    def scroll(self, direction: str, notches: int) -> None:
        """Turn the wheel ``notches`` notches ``up`` | ``down`` | ``left`` | ``right``."""
        ...

    def key_down(self, key: str) -> None:
        """Press a canonical key (raises UnsupportedActionError for one it cannot send)."""
        ...

    def key_up(self, key: str) -> None:
        """Release a canonical key."""
        ...

    def can_type(self, ch: str) -> bool:
        """True when ``ch`` can be typed directly (else it is pasted)."""
        ...

    def type_char(self, ch: str) -> None:
        """Type one character."""
        ...

    def held(self) -> tuple[set, set]:
        """(keys, buttons) this backend holds down now, in its own identifiers."""
        ...

    def release_all(self) -> None:
        """Release every key and button this backend pressed and has not released."""
        ...

    def sync(self) -> None:
        """Return once every event sent so far has been delivered."""
        ...

    def close(self) -> None:
        """Release everything held and free the connection."""
        ...


def default_backend(platform: str) -> str:
    """The backend for ``platform`` (``linux`` | ``windows`` | ``darwin``): ``xtest`` on
    Linux (X11), ``pynput`` elsewhere."""
    return "xtest" if platform == "linux" else "pynput"


def make_input_backend(name: str | None, platform: str) -> InputBackend:
    """Build the backend called ``name`` (None: :func:`default_backend` of ``platform``).

    Raises:
        ValueError: an unknown name.
        tars.desktop.operator.OperatorError: the backend cannot start (no display, no XTEST).
    """
    chosen = name or default_backend(platform)
    target = BACKENDS.get(chosen)
    if target is None:
        raise ValueError(f"unknown input backend {name!r}; use one of {', '.join(BACKENDS)}")
    module, _, cls = target.partition(":")
    backend: InputBackend = getattr(importlib.import_module(module), cls)()
    return backend


if TYPE_CHECKING:  # mypy proves both backends implement the protocol (checked in make test)
    from tars.desktop.pynput_input import PynputInput
    from tars.desktop.x11_input import X11Input

    _XTEST: type[InputBackend] = X11Input
    _PYNPUT: type[InputBackend] = PynputInput
