"""lite never claims a step it did not see work (issue 17): each false success found on
programs it was not developed on, as a drawn screen sequence (real OCR, no display), ends in
call_user with the reason instead of finished."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont
from test_lite_policy import actions_of, draw_form, run_policy

from tars.actions.space import CallUser, Click, Finished, Type, Wait
from tars.models.lite import verify
from tars.models.lite.controls import Rect
from tars.models.lite.matching import TextBox
from tars.models.lite.policy import CHECK_WAIT, LitePolicy

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def last_action(answer: str):
    return actions_of(answer)[-1]


def test_a_click_on_an_exact_button_caption_counts_without_a_visible_change():
    # an Apply button whose work is not drawn: the exact caption on a drawn control vouches
    answers = run_policy(LitePolicy(), "click Submit", [draw_form()] * 2)
    assert isinstance(last_action(answers[1]), Finished) and "reads exactly as asked" in answers[1]


def test_a_click_that_changes_nothing_is_looked_at_again_then_handed_over():
    form = draw_form()
    # a near reading (the user's typo), and the caption is centred on its button: there is no
    # other place to click, so no retry
    answers = run_policy(LitePolicy(), "click Submt", [form] * 3)
    first, look, end = (actions_of(a) for a in answers)
    assert isinstance(first[0], Click) and look == (Wait(CHECK_WAIT),) and "(checking)" in answers[1]
    assert end == (CallUser(),)
    assert "nothing on screen changed after the click" in answers[2] and "I do not claim it" in answers[2]


def test_typed_text_that_does_not_read_back_is_not_claimed():
    # the first letters went elsewhere (issue 17: "Ada Lovelacead" in the previous field)
    screens = [draw_form()] + [draw_form(name_value="a@example.org")] * 4
    answers = run_policy(LitePolicy(), 'type "ada@example.org" into Name', screens)
    assert "(retrying)" in answers[2]
    # the retry types one character at a time, after selecting what the field holds
    assert [a for a in actions_of(answers[2]) if isinstance(a, Type)][:3] == [Type("a"), Type("d"), Type("a")]
    assert last_action(answers[4]) == CallUser()
    assert 'shows "a@example.org", not "ada@example.org"' in answers[4]


def test_a_retyped_field_that_reads_back_is_confirmed():
    screens = [draw_form(), draw_form(name_value="Ad"), draw_form(name_value="Ad"), draw_form(name_value="Ada")]
    answers = run_policy(LitePolicy(), 'type "Ada" into Name', screens)
    assert "(retrying)" in answers[2] and isinstance(last_action(answers[3]), Finished)
    assert 'the field "Name" shows "Ada"' in answers[3]


def draw_toolbar(glyph: str = "R") -> Image.Image:
    """An editor's toolbar of icon-only buttons; OCR reads one of them as a letter."""
    img = Image.new("RGB", (640, 300), (240, 240, 240))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 15)
    for x in range(20, 220, 40):
        d.rectangle((x, 20, x + 30, 50), outline=(120, 120, 120), fill=(250, 250, 250))
    d.text((106, 26), glyph, fill="black", font=font)
    d.text((20, 100), "the cat sat on the mat", fill="black", font=font)
    return img


def test_an_icon_only_target_is_not_clicked_through_a_one_letter_reading():
    # issue 17: an icon read as "R" was clicked for "Replace all" and the run said finished
    answers = run_policy(LitePolicy(max_looks=1), "click Replace all", [draw_toolbar()] * 2)
    assert not any(isinstance(a, Click) for ans in answers for a in actions_of(ans))
    assert last_action(answers[-1]) == CallUser() and '"Replace all"' in answers[-1]


def draw_calculator(display: str) -> Image.Image:
    img = Image.new("RGB", (400, 300), (245, 245, 245))
    d = ImageDraw.Draw(img)
    d.rectangle((20, 20, 380, 80), fill="white", outline=(150, 150, 150))
    font = ImageFont.truetype(FONT, 30)
    w = d.textlength(display, font=font)
    d.text((370 - w, 30), display, fill="black", font=font)
    small = ImageFont.truetype(FONT, 16)
    for i, key in enumerate(["7", "8", "9", "/", "sqrt"]):
        d.rectangle((20 + 72 * i, 120, 80 + 72 * i, 160), outline=(150, 150, 150))
        d.text((40 + 72 * i, 130), key, fill="black", font=small)
    return img


def test_a_calculator_expression_that_lost_a_key_is_not_claimed():
    # issue 17: galculator dropped the shifted "*" of "12*3"; the display showed 123
    screens = [draw_calculator("0")] + [draw_calculator("123")] * 3
    answers = run_policy(LitePolicy(), 'type "12*3"', screens)
    assert actions_of(answers[0]) == (Type("12*3"),)
    assert actions_of(answers[1]) == (Wait(CHECK_WAIT),)
    assert last_action(answers[2]) == CallUser() and '"12*3" does not appear' in answers[2]


def test_a_calculator_showing_the_last_number_typed_confirms_the_expression():
    answers = run_policy(LitePolicy(), 'type "12*3"', [draw_calculator("0"), draw_calculator("3")])
    assert isinstance(last_action(answers[1]), Finished) and 'shows "3"' in answers[1]


def test_changed_boxes_ignore_a_caret():
    a = Image.new("RGB", (200, 100), "white")
    b = a.copy()
    ImageDraw.Draw(b).line((50, 20, 50, 40), fill="black", width=2)  # a caret appeared
    assert verify.changed_boxes(a, b) == []
    ImageDraw.Draw(b).rectangle((100, 20, 140, 40), fill="black")
    (box,) = verify.changed_boxes(a, b)
    assert 98 <= box[0] <= 101 and 139 <= box[2] <= 142


def test_reads_back_forgives_ocr_not_lost_characters():
    assert verify.reads_back("ada@example.org", "ada@exarnple.org")  # rn for m
    assert verify.reads_back("Ada Lovelace", " Ada Lovelace ")
    assert not verify.reads_back("ada@example.org", "a@example.org")
    assert not verify.reads_back("12*3", "123")
    assert not verify.reads_back("85", "30")
    assert verify.same_text("3", " 3") and not verify.same_text("3", "13")  # a spin box that kept its 1
    assert not verify.same_text("3", "31") and verify.same_text("85", "85]") and verify.same_text("dog", "dog|")
    assert verify.same_text("Ada", "Ada|") and not verify.same_text("Ada", "Adam")
    assert verify.same_text("3", "3個")  # a caret misread as a glyph of another script


def test_text_in_rect_takes_the_part_of_a_joined_line_inside_the_field():
    line = TextBox("Quantity1", (0, 0, 90, 20))  # label and value joined by OCR
    assert verify.text_in_rect([line], Rect(80, 0, 120, 20)) == "1"


def with_message(img: Image.Image, text: str) -> Image.Image:
    """``img`` with a message box over it: ``text`` and an OK button."""
    img = img.copy()
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 14)
    d.rectangle((180, 120, 460, 240), fill=(246, 246, 246), outline=(90, 90, 90))
    d.text((200, 140), text, fill="black", font=font)
    d.rectangle((280, 190, 360, 218), fill=(235, 235, 235), outline=(120, 120, 120))
    d.text((308, 196), "OK", fill="black", font=font)
    return img


def test_an_information_box_that_appears_mid_task_is_closed():
    # issue 17: l3afpad's "2 strings replaced" and the Tk form's note stood in the next step's way
    form = draw_form()
    screens = [form, with_message(form, "2 strings replaced"), draw_form(note="Sent"), draw_form(note="Sent!")]
    answers = run_policy(LitePolicy(), "click Submit then click Cancel", screens)
    assert "(dismissing a message)" in answers[1] and "2 strings replaced" in answers[1]
    (ok,) = actions_of(answers[1])
    assert 280 < ok.x < 360 and 190 < ok.y < 218
    (cancel,) = actions_of(answers[2])
    assert 300 < cancel.x < 390  # then the task goes on


def test_an_error_box_stops_the_run_with_its_message():
    form = draw_form()
    answers = run_policy(LitePolicy(), "click Submit then click Cancel",
                         [form, with_message(form, "Please enter a name.")])
    assert last_action(answers[1]) == CallUser() and "Please enter a name." in answers[1]


def with_question(img: Image.Image, text: str) -> Image.Image:
    """``img`` with a question box over it: ``text``, Yes and No buttons."""
    img = img.copy()
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 14)
    d.rectangle((180, 120, 460, 240), fill=(246, 246, 246), outline=(90, 90, 90))
    d.text((200, 140), text, fill="black", font=font)
    for x, label in ((220, "Yes"), (340, "No")):
        d.rectangle((x, 190, x + 80, 218), fill=(235, 235, 235), outline=(120, 120, 120))
        d.text((x + 26, 196), label, fill="black", font=font)
    return img


def test_a_question_after_the_last_step_is_confirmed_and_its_closing_checked():
    # issue 17: "place the order" ended finished while the Tk form still asked "Place this order?"
    form = draw_form()
    asked = with_question(form, "Place this order?")
    answers = run_policy(LitePolicy(), "click Submit", [form, asked, draw_form(note="Ordered")])
    (yes,) = actions_of(answers[1])
    assert "Place this order?" in answers[1] and 220 < yes.x < 300 and 190 < yes.y < 218
    assert isinstance(last_action(answers[2]), Finished) and "The message box closed." in answers[2]


def test_a_message_box_that_stays_open_is_not_claimed():
    form = draw_form()
    asked = with_question(form, "Place this order?")
    answers = run_policy(LitePolicy(), "click Submit", [form, asked, asked])
    assert last_action(answers[2]) == CallUser() and "still there" in answers[2]


def test_a_calendar_day_is_found_by_its_month_and_number():
    img = Image.new("RGB", (400, 300), (250, 250, 250))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 14)
    d.text((120, 20), "December", fill="black", font=font)
    for row, days in enumerate(((6, 7, 8, 9, 10, 11, 12), (13, 14, 15, 16, 17, 18, 19))):
        for col, day in enumerate(days):
            d.text((40 + 44 * col, 80 + 30 * row), str(day), fill="black", font=font)
    (answer,) = run_policy(LitePolicy(), "pick December 15", [img])
    (click,) = actions_of(answer)
    assert 125 < click.x < 150 and 105 < click.y < 130


def draw_spin(value: str, caret_at: int | None = None) -> Image.Image:
    """A Tk-like spin box "Quantity" holding ``value``, a caret drawn after ``caret_at`` chars."""
    img = Image.new("RGB", (500, 200), (217, 217, 217))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 16)
    d.text((20, 42), "Quantity", fill="black", font=font)
    d.rectangle((110, 36, 190, 66), fill="white", outline=(40, 40, 40))
    d.text((114, 42), value, fill="black", font=font)
    if caret_at is not None:
        x = 114 + d.textlength(value[:caret_at], font=font)
        d.line((x, 40, x, 62), fill="black", width=2)
    return img


def test_a_value_kept_behind_the_caret_is_not_read_as_done():
    # issue 17 (Tk spin box): "3" typed before the "1" it held; OCR read "Quantity 3" with the
    # caret between them, so the field's own cut is read alone
    screens = [draw_spin("1"), draw_spin("31", 1)] + [draw_spin("31", 1)] * 3
    answers = run_policy(LitePolicy(), 'type "3" into the Quantity field', screens)
    assert "(checking)" in answers[1] and 'not "3"' in answers[1]
    assert "(retrying)" in answers[2]


def test_set_a_spin_box_that_kept_its_value_is_retyped_another_way():
    screens = [draw_spin("1"), draw_spin("1"), draw_spin("31"), draw_spin("31"), draw_spin("3", 1)]
    answers = run_policy(LitePolicy(), "set Quantity to 3", screens)
    assert "(opening the list)" in answers[0] and "(checking)" in answers[2] and "(retrying)" in answers[3]
    assert [a for a in actions_of(answers[3]) if isinstance(a, Type)] == [Type("3")]
    assert isinstance(last_action(answers[4]), Finished)
