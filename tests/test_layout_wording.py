"""Where tars puts its windows (frontends/layout.py) and how it words things (frontends/wording.py)."""

from __future__ import annotations

from tars.actions.space import Click, Hotkey, Type
from tars.frontends.layout import beside, corner_spot, intersects, overlap

SCREEN = (0, 0, 1280, 800)


def test_beside_puts_the_window_in_the_largest_free_band_off_the_target():
    target = (20, 60, 640, 420)
    r = beside(SCREEN, target, (1100, 720))
    assert not intersects(r, target)
    assert r[0] >= 660 and r[2] >= 480 and r[0] + r[2] <= 1280  # right of it, clipped to the band
    left = beside(SCREEN, (600, 100, 660, 500), (1100, 720))
    assert not intersects(left, (600, 100, 660, 500)) and left[0] == 0
    below = beside(SCREEN, (0, 0, 1280, 300), (1100, 720))
    assert below[1] >= 300 and not intersects(below, (0, 0, 1280, 300))


def test_beside_docks_to_the_far_edge_when_there_is_no_room_and_centres_without_target():
    full = (0, 0, 1280, 800)
    r = beside(SCREEN, (100, 0, 1100, 800), (1100, 720), min_size=(480, 360))
    assert r[2] == 480 and (r[0] == 0 or r[0] + r[2] == 1280)
    assert beside(SCREEN, None, (1100, 720)) == (90, 40, 1100, 720)
    assert overlap(beside(SCREEN, full, (400, 300)), full) > 0  # nowhere else to go


def test_corner_spot_avoids_the_target_first_and_is_stable():
    target = (30, 40, 560, 400)
    app = (700, 0, 580, 800)
    spot = corner_spot(SCREEN, (440, 138), [target, app])
    assert not intersects(spot, target) and not intersects(spot, app)
    assert spot == corner_spot(SCREEN, (440, 138), [target, app])
    assert corner_spot(SCREEN, (440, 138), []) == (828, 650, 440, 138)  # bottom-right by default
    # everything covered: the target weighs more than the app
    s = corner_spot(SCREEN, (440, 138), [(0, 0, 1280, 700), (0, 600, 1280, 200)])
    assert overlap(s, (0, 0, 1280, 700)) == min(overlap(c, (0, 0, 1280, 700)) for c in
                                                 [s, (12, 12, 440, 138), (828, 650, 440, 138)])


def test_actions_are_named_by_their_target_and_errors_lose_class_names():
    from tars.frontends.wording import action_in_words, advice, outcome, plain_error, quoted_label

    thought = 'Step 1 of 3: I see "Appearance" at (128, 66); I click it.'
    assert quoted_label(thought) == "Appearance"
    assert quoted_label("no quotes here") is None
    from tars.frontends.wording import thought_for_people

    assert thought_for_people(thought).startswith('Part 1 of 3: I see "Appearance"')
    assert thought_for_people("Step 2 of 2 (looking again): x") == "Part 2 of 2 (looking again): x"
    assert thought_for_people("I click Step 1 of 2") == "I click Step 1 of 2"  # only lite's leading mark
    assert action_in_words(Click(128, 66), "Appearance", "Settings") == "Click “Appearance” in Settings"
    assert action_in_words(Click(128, 66), None, "Settings") == "Click at (128, 66) in Settings"
    assert action_in_words(Type("hi\n"), "x") == 'Type "hi" and press Enter'
    assert action_in_words(Hotkey(("ctrl", "s"))) == "Press ctrl+s"
    err = "InstructionError: lite cannot follow the step 'Open the settings and turn on dark mode': ..."
    assert plain_error(err).startswith("lite cannot follow")
    tip = advice(err, "lite")
    assert "step by step" in tip and "hf or openai" in tip and "Error" not in tip
    assert advice("PolicyError: endpoint down", "openai") == ""
    assert outcome("call_user", "", None, "the Apply button needs a password") == (
        "tars needs you", "the Apply button needs a password")
    assert outcome("error", error="OperatorError: no display")[1] == "no display"


def test_a_planner_and_grounder_step_in_one_line():
    from tars.frontends.wording import exchange_in_words

    ex = {"planner": "Thought: save it\nAction: click(element='the Save button')",
          "grounder": [{"element": "the Save button", "answer": "(812,433)", "point": [812.4, 433.0]},
                       {"element": "the OK button", "answer": "?", "point": None, "error": "no point"}]}
    assert exchange_in_words(ex) == ("planner: click(element='the Save button') · grounder: the Save "
                                     "button -> (812, 433) · grounder: the OK button -> no point (no point)")
    assert exchange_in_words(None) == ""
