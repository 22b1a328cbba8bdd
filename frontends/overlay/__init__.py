"""The on-screen overlay: what the agent thinks and where it is about to act.

A hook on the loop (:class:`OverlayHook`), never a second loop. It shows, on the monitor the
operator captures:

* a marker (ring + a centre dot of :data:`tars.frontends.markers.MARKER_RGB`) on the exact
  point the operator is about to act on, the drag path or scroll direction, and numbered
  badges of the last actions (:mod:`.marker_window`);
* one panel, in one place for the whole run, off the target window: the step, the action
  named by its target ("Click “Appearance” in Settings"), the thought, Pause / Stop; at the
  end the outcome (finished, a call_user reason, an error) held on screen (:mod:`.panel`).

Modules: :mod:`.platform` (coordinates, capture exclusion), :mod:`.marker_window`,
:mod:`.panel`, :mod:`.controller` (GUI thread), :mod:`.hook` (the hook, run_with_overlay).
Importing this package imports PySide6 (``tars run`` falls back to no overlay on ImportError).
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("PySide6") is None:
    raise ImportError('the overlay needs PySide6 (pip install "tars[gui]")')

from tars.frontends.overlay.hook import OverlayHook, OverlaySettings, run_with_overlay  # noqa: E402
from tars.frontends.overlay.platform import exclude_from_capture, screen_to_local  # noqa: E402

__all__ = ["OverlayHook", "OverlaySettings", "exclude_from_capture", "run_with_overlay", "screen_to_local"]
