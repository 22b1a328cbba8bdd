"""DryRunOperator: serves screenshots, records actions, refuses what a real operator refuses."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Click, Drag, Finished, Hotkey, OpenApp, PressHome, Type, Wait
from tars.desktop.dryrun import DryRunOperator
from tars.desktop.operator import (
    BlankScreenError,
    EmergencyStopError,
    OffScreenError,
    Operator,
    OperatorError,
    UnsupportedActionError,
)


def _img(colour, size=(320, 200)):
    return Image.new("RGB", size, colour)


def test_serves_images_in_turn_and_repeats_the_last(tmp_path):
    path = tmp_path / "second.png"
    _img((0, 255, 0)).save(path)
    rgba = Image.new("RGBA", (320, 200), (0, 0, 255, 128))
    op = DryRunOperator([_img((255, 0, 0)), str(path), rgba])
    assert isinstance(op, Operator)
    assert op.live is False                          # images: the loop must not re-observe
    colours = [op.observe().image.getpixel((5, 5)) for _ in range(5)]
    assert colours == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 0, 255), (0, 0, 255)]
    obs = op.observe()
    assert obs.image.mode == "RGB"
    assert obs.geometry == ScreenGeometry(320, 200, 1.0, 0, 0, 1)


def test_given_geometry_keeps_scale_and_offset_takes_image_size():
    op = DryRunOperator([_img((1, 2, 3), (2880, 1800))],
                        geometry=ScreenGeometry(1, 1, scale=2.0, left=-1440, top=0, monitor=2))
    assert op.observe().geometry == ScreenGeometry(2880, 1800, 2.0, -1440, 0, 2)
    op.execute(Click(-1, 899))                      # last points of a Retina monitor on the left
    op.execute(Click(0, 900))   # where pixel (2879, 1799) rounds to: still this monitor's pixel
    with pytest.raises(OffScreenError):
        op.execute(Click(1, 10))


def test_records_actions_and_performs_nothing():
    op = DryRunOperator([_img((9, 9, 9))])
    op.observe()
    actions = [Click(10, 20), Drag(0, 0, 319, 199), Hotkey(("ctrl", "c")), Type("héllo\n"),
               Wait(30), Finished("done")]
    t0 = time.monotonic()
    results = [op.execute(a) for a in actions]
    assert time.monotonic() - t0 < 1.0                # wait(30) did not sleep
    assert op.executed == actions
    assert all(r.detail == "dry run" for r in results)


def test_refuses_like_a_real_operator():
    op = DryRunOperator([_img((9, 9, 9))])
    op.execute(Click(5000, 5000))                     # nothing known before the first look
    op.observe()
    with pytest.raises(OffScreenError, match="outside the screen"):
        op.execute(Click(320, 10))
    for mobile in (OpenApp("Maps"), PressHome()):
        with pytest.raises(UnsupportedActionError, match="mobile"):
            op.execute(mobile)
    heard = []
    op.on_emergency_stop(lambda: heard.append(True))
    op.emergency_stop()
    with pytest.raises(EmergencyStopError):
        op.execute(Click(1, 1))
    assert heard == [True]
    assert op.executed == [Click(5000, 5000)]


def test_bad_images_are_clear_errors(tmp_path):
    with pytest.raises(OperatorError, match="missing.png"):
        DryRunOperator([tmp_path / "missing.png"])
    bad = tmp_path / "bad.png"
    bad.write_text("not a png")
    with pytest.raises(OperatorError, match="cannot read screenshot"):
        DryRunOperator([bad])
    with pytest.raises(OperatorError, match="at least one"):
        DryRunOperator([])
    with pytest.raises(OperatorError, match="not an image"):
        DryRunOperator([42])


@pytest.mark.display
def test_serves_the_real_screen(virtual_display):
    virtual_display(640, 480, wm=False)
    op = DryRunOperator()                            # the bare root window: one colour
    try:
        with pytest.raises(BlankScreenError):
            op.observe()
    finally:
        op.close()
    op = DryRunOperator(allow_blank=True)
    try:
        assert op.live is True
        obs = op.observe()
        assert obs.image.size == (640, 480)
        assert obs.geometry == ScreenGeometry(640, 480, 1.0, 0, 0, 1)
        op.execute(Click(639, 479))
        assert op.executed == [Click(639, 479)]
    finally:
        op.close()
