"""History window and guard: what the model sees of the past, limits, loops, risky actions."""

from __future__ import annotations

import threading
import time

import pytest
from PIL import Image

from tars.actions.coords import CoordSpace
from tars.actions.space import Click, Hotkey, Type
from tars.agent.guard import Guard, LoopDetector, is_risky, screen_changed
from tars.agent.history import History


def img(colour: int) -> Image.Image:
    return Image.new("RGB", (8, 8), (colour, 0, 0))


def test_history_keeps_last_n_images_and_every_answer():
    h = History("do it", "SYSTEM", CoordSpace("relative"), max_images=3, box_tokens=True)
    for i in range(5):
        h.add(img(i), f"Thought: t{i}\nAction: click(start_box='({i},{i})')")
    prompt = h.prompt(img(99))
    images = prompt.images()
    # the current screenshot plus the two most recent ones
    assert [im.getpixel((0, 0))[0] for im in images] == [3, 4, 99]
    assert [t.response for t in prompt.turns][:5] == [
        f"Thought: t{i}\nAction: click(start_box='<|box_start|>({i},{i})<|box_end|>')" for i in range(5)
    ]
    assert prompt.turns[-1].response is None
    msgs = prompt.messages()
    assert msgs[1]["content"][0]["text"] == "SYSTEM"
    roles = [m["role"] for m in msgs]
    assert roles.count("assistant") == 5 and roles[-1] == "user"


def test_history_without_box_tokens_keeps_answers_verbatim():
    h = History("x", "S", CoordSpace(), max_images=5)
    h.add(img(1), "Action: click(start_box='(1,2)')")
    assert h.prompt(img(2)).turns[0].response == "Action: click(start_box='(1,2)')"


def test_failed_attempts_are_shown_with_their_errors():
    h = History("x", "S", CoordSpace(), max_images=2)
    p = h.prompt(img(7), failed=[("garbage", "could not parse"), ("more", "still bad")])
    assert [(t.response, t.feedback) for t in p.turns] == [
        ("garbage", "could not parse"), ("more", "still bad"), (None, None)]
    assert p.screenshot.getpixel((0, 0))[0] == 7
    assert len(p.images()) == 1


def test_history_refuses_zero_images():
    with pytest.raises(ValueError):
        History("x", "S", CoordSpace(), max_images=0)


def test_loop_detector_warns_then_ends():
    d = LoopDetector(limit=3)
    frame = img(1)
    assert d.check("click(1,1)", frame).warn is None
    assert d.check("click(1,1)", frame).warn is None
    third = d.check("click(1,1)", frame)
    assert third.warn and "3 times" in third.warn and third.end is None
    assert d.check("click(1,1)", frame).end


def test_loop_detector_resets_on_change_of_screen_or_action():
    d = LoopDetector(limit=3)
    a, b = img(1), img(2)
    d.check("click", a)
    d.check("click", a)
    assert d.check("click", b).warn is None  # screen changed
    d.check("click", b)
    assert d.check("type", b).warn is None  # action changed


@pytest.mark.parametrize("action,risky", [
    (Type("rm -rf ~/\n"), True), (Type("sudo reboot\n"), True), (Hotkey(("alt", "f4")), True),
    (Type("hello world"), False), (Hotkey(("ctrl", "s")), False), (Click(1, 2), False),
])
def test_risky_actions(action, risky):
    assert (is_risky(action) is not None) == risky


def test_guard_confirmation_refuses_with_reason():
    g = Guard(confirm=lambda action, reason: False)
    assert "refused" in g.allow(Type("rm -rf /tmp/x\n"))
    assert g.allow(Type("ls\n")) is None
    assert Guard(confirm=lambda a, r: True).allow(Type("rm -rf /tmp/x\n")) is None


def test_guard_pause_blocks_until_resume_and_stop_wakes_sleep():
    g = Guard()
    g.pause()
    done = threading.Event()

    def waiter():
        g.wait_if_paused()
        done.set()

    threading.Thread(target=waiter, daemon=True).start()
    assert not done.wait(0.2)
    g.resume()
    assert done.wait(2)
    threading.Timer(0.1, g.stop).start()
    t = time.monotonic()
    assert g.sleep(10) is True
    assert time.monotonic() - t < 2


def test_guard_time_limit():
    g = Guard(max_seconds=0.05)
    g.start()
    assert not g.timed_out()
    time.sleep(0.06)
    assert g.timed_out()


def test_history_drops_frames_it_can_no_longer_send():
    h = History("x", "S", CoordSpace(), max_images=3)
    for i in range(10):
        h.add(img(i), f"a{i}")
    assert sum(e.image is not None for e in h.entries) == 2
    assert [im.getpixel((0, 0))[0] for im in h.prompt(img(50)).images()] == [8, 9, 50]


def test_a_blinking_caret_is_not_a_change_but_a_dialog_is():
    from PIL import ImageDraw

    base = Image.new("RGB", (1280, 800), "white")
    caret = base.copy()
    ImageDraw.Draw(caret).rectangle((300, 200, 301, 218), fill="black")  # 2 x 19 px caret
    dialog = base.copy()
    ImageDraw.Draw(dialog).rectangle((400, 300, 700, 450), fill="grey")
    tick = base.copy()
    ImageDraw.Draw(tick).line((10, 10, 20, 24, 34, 2), fill="black", width=3)
    assert not screen_changed(base, caret)
    assert screen_changed(base, dialog)
    assert screen_changed(base, tick)
    assert screen_changed(base, base.resize((640, 400)))
