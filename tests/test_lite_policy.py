"""LitePolicy on drawn screens (real OCR, no display): what it answers, and how it reads its
own past answers to know which step it is on."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from tars.actions.parse import parse_response
from tars.actions.space import CallUser, Click, Finished, Hotkey, MoveTo, Press, Type, Wait
from tars.models.base import PolicyError, Prompt, Turn, load_policy
from tars.models.lite.instructions import InstructionError
from tars.models.lite.policy import FOCUS_SETTLE, LitePolicy, read_progress

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def draw_form(checked: bool = False, name_value: str = "", note: str = "") -> Image.Image:
    """A light-grey form: "Name:" label with a field, a check box, two buttons, and ``note``
    (a line of text low on the form: what a program shows after a click)."""
    img = Image.new("RGB", (640, 400), (239, 239, 239))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 14)
    d.text((20, 30), "Name:", fill="black", font=font)
    d.rectangle((90, 24, 400, 48), fill="white", outline=(150, 150, 150))   # the field
    if name_value:
        d.text((96, 30), name_value, fill="black", font=font)
    d.rectangle((20, 80, 34, 94), fill="white", outline=(120, 120, 120))    # the check box
    if checked:
        d.line((23, 87, 27, 91, 32, 82), fill="black", width=2)
    d.text((42, 79), "Remember me", fill="black", font=font)
    for x, label in ((300, "Cancel"), (420, "Submit")):
        d.rectangle((x, 300, x + 90, 326), fill=(245, 245, 245), outline=(140, 140, 140))
        d.text((x + 20, 305), label, fill="black", font=font)
    if note:
        d.text((20, 360), note, fill="black", font=font)
    return img


def run_policy(policy: LitePolicy, instruction: str, images: list[Image.Image]) -> list[str]:
    """Ask ``policy`` once per image, feeding its answers back as the loop's history does."""
    turns: list[Turn] = []
    answers = []
    for img in images:
        turns.append(Turn(img))
        text = policy.act(Prompt(instruction, "", turns))
        turns[-1].response = text
        answers.append(text)
        parse_response(text)  # every answer is valid UI-TARS text
    return answers


def actions_of(text: str):
    """The actions of an answer without lite's decorations: the pointer moved out of the way
    after a click, and the short settle between a focusing click and typing."""
    return tuple(a for a in parse_response(text).actions
                 if not isinstance(a, MoveTo) and a != Wait(FOCUS_SETTLE))


def test_form_steps_hit_the_controls():
    policy = LitePolicy()
    form = draw_form()
    screens = [form, draw_form(name_value="Ada"), draw_form(True, "Ada"), draw_form(True, "Ada", "Thank you"),
               draw_form(True, "Ada", "Thank you, sent")]
    answers = run_policy(policy, 'type "Ada" into Name then check Remember me then click Submit then press enter',
                         screens)
    click, typed = actions_of(answers[0])
    assert isinstance(click, Click) and 90 < click.x < 400 and 24 < click.y < 48  # in the field
    assert typed == Type("Ada")
    (tick,) = actions_of(answers[1])
    assert isinstance(tick, Click) and 20 <= tick.x <= 34 and 80 <= tick.y <= 94  # the box
    (submit,) = actions_of(answers[2])
    assert isinstance(submit, Click) and 420 < submit.x < 510 and 300 < submit.y < 326
    assert actions_of(answers[3]) == (Press("enter"),)
    assert isinstance(actions_of(answers[4])[0], Finished)
    assert answers[2].startswith("Thought: Part 3 of 4:")
    # each step was checked on the next screen before the next one was done
    assert 'the field "Name" shows "Ada"' in answers[1]
    assert 'the box "Remember me" is checked' in answers[2]
    assert "the screen changed" in answers[3] and "the screen changed after enter" in answers[4]


def test_field_with_text_is_selected_before_typing():
    policy = LitePolicy()
    (answer,) = run_policy(policy, 'type "Bob" into the Name field', [draw_form(name_value="guest")])
    assert [type(a) for a in parse_response(answer).actions] == [Click, Wait, Hotkey, Type, MoveTo]


def test_check_skips_a_box_already_checked_and_uncheck_clicks_it():
    policy = LitePolicy()
    (answer,) = run_policy(policy, "check Remember me then click Cancel", [draw_form(checked=True)])
    (click,) = actions_of(answer)
    assert click.x > 300 and "already checked" in answer and answer.startswith("Thought: Part 2 of 2")
    (answer,) = run_policy(policy, "uncheck Remember me", [draw_form(checked=True)])
    (click,) = actions_of(answer)
    assert 20 <= click.x <= 34


def test_missing_target_waits_then_calls_user():
    policy = LitePolicy(max_looks=2)
    answers = run_policy(policy, "click Submit then click Delete everything",
                         [draw_form()] + [draw_form(note="Sent")] * 3)
    assert isinstance(actions_of(answers[0])[0], Click)
    assert actions_of(answers[1]) == (Wait(2.5),) and "(looking again)" in answers[1]
    assert isinstance(parse_response(answers[1]).actions[0], MoveTo)  # nothing under the pointer
    assert actions_of(answers[2]) == (Wait(2.5),)
    assert actions_of(answers[3]) == (CallUser(),)
    assert "Delete everything" in answers[3]


def test_failed_action_is_retried_then_handed_over():
    policy = LitePolicy(max_retries=1)
    form = draw_form()
    turns = [Turn(form)]
    first = policy.act(Prompt("click Submit", "", turns))
    turns[-1].response, turns[-1].feedback = first, "The action failed: off screen"
    turns.append(Turn(form))
    second = policy.act(Prompt("click Submit", "", turns))
    assert actions_of(second) == actions_of(first)  # the step is tried again
    turns[-1].response, turns[-1].feedback = second, "The action failed: off screen"
    turns.append(Turn(form))
    third = policy.act(Prompt("click Submit", "", turns))
    assert actions_of(third) == (CallUser(),) and "off screen" in third


def test_read_progress_from_answers():
    mk = lambda text, fb=None: Turn(None, text, fb)
    turns = [
        mk("Thought: Step 1 of 3: x\nAction: click(start_box='(1,1)')"),
        mk("Thought: Step 2 of 3 (opening the list): x\nAction: click(start_box='(1,1)')"),
        mk("Thought: a real model's answer\nAction: wait()"),
    ]
    p = read_progress(turns, 3)
    assert (p.step, p.opened, p.looks) == (1, True, 0)
    turns.append(mk("Thought: Step 2 of 3 (looking again): x\nAction: wait()"))
    turns.append(mk("Thought: Step 2 of 3: x\nAction: click(start_box='(1,1)')", "failed"))
    p = read_progress(turns, 3)
    assert (p.step, p.looks, p.failures, p.last_error) == (1, 1, 1, "failed")
    turns.append(mk("Thought: Step 2 of 3 (looking again): x\nAction: wait()", "repeated action"))
    assert read_progress(turns, 3).looks == 2  # a warning on a wait is not a failed step
    turns.append(mk("Thought: Part 3 of 3: x\nAction: click(start_box='(1,1)')"))
    assert read_progress(turns, 3).step == 3  # "Part K of N" now, "Step K of N" of older runs too
    assert read_progress(turns, 4).step == 0  # answers for another instruction do not count


def test_bad_instruction_fails_before_anything():
    policy = LitePolicy()
    with pytest.raises(InstructionError, match="teleport"):
        policy.prepare("click OK then teleport home")
    with pytest.raises(InstructionError):
        policy.act(Prompt("teleport home", "", [Turn(draw_form())]))


def test_registry_settings_and_errors():
    policy = load_policy("lite", model=None, profile=None)
    assert policy.name == "lite" and policy.space.kind == "absolute"
    with pytest.raises(PolicyError, match="model"):
        load_policy("lite", model="UI-TARS-1.5-7B")
    with pytest.raises(PolicyError, match="screenshot"):
        policy.act(Prompt("click OK", "", [Turn(None)]))


def test_every_verb_answers_in_the_action_language():
    from tars.actions.space import DoubleClick, Drag, RightClick, Scroll

    policy = LitePolicy()
    instruction = ("scroll down; scroll up in Remember me; drag Cancel to Submit; double-click Submit; "
                   "right-click Cancel; hotkey ctrl shift t; wait 1 second")
    answers = run_policy(policy, instruction, [draw_form(note=f"screen {i}") for i in range(8)])
    got = [actions_of(a) for a in answers]
    assert got[0] == (Scroll(None, None, "down"),)
    (up,) = got[1]
    assert isinstance(up, Scroll) and up.direction == "up" and 42 < up.x < 150
    (drag,) = got[2]
    assert isinstance(drag, Drag) and drag.x1 < 400 < drag.x2
    assert isinstance(got[3][0], DoubleClick) and isinstance(got[4][0], RightClick)
    assert got[5] == (Hotkey(("ctrl", "shift", "t")),)
    assert got[6] == (Wait(1.0),)  # the length asked for, not the default 5 s
    assert isinstance(got[7][0], Finished)


def test_looks_stay_bounded_after_a_skipped_step():
    # step 1 is skipped (the box is already checked) on every call; the looks spent on the
    # missing step 2 must still add up to call_user
    policy = LitePolicy(max_looks=2)
    answers = run_policy(policy, "check Remember me then click Launch", [draw_form(checked=True)] * 3)
    assert [actions_of(a) for a in answers] == [(Wait(2.5),), (Wait(2.5),), (CallUser(),)]


def test_multi_line_text_area_below_its_label():
    img = Image.new("RGB", (640, 400), (239, 239, 239))
    d = ImageDraw.Draw(img)
    d.text((20, 20), "Message", fill="black", font=ImageFont.truetype(FONT, 14))
    d.rectangle((20, 44, 500, 300), fill="white", outline=(150, 150, 150))
    (answer,) = run_policy(LitePolicy(), 'type "Hello" into Message', [img])
    click, typed = actions_of(answer)
    assert 20 < click.x < 500 and 44 < click.y < 300 and typed == Type("Hello")
