"""Every answer is bounded and every bad input ends in one line (issue 16, items 5, 6, 8, 13):
waits are at most 60 s in every dialect, an answer holds at most 16 actions, a runaway answer is
cut before it is parsed, printed or recorded, and `tars parse` refuses bad input with exit 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tars.actions.parse import MAX_ACTIONS_PER_STEP, MAX_ANSWER_CHARS, ParseError, bound_answer, parse_response
from tars.actions.space import MAX_WAIT_SECONDS, Click, Finished, Scroll, Wait

ROOT = Path(__file__).resolve().parent.parent


def tool(arguments: dict) -> str:
    return f'<tool_call>\n{json.dumps({"name": "computer_use", "arguments": arguments})}\n</tool_call>'


@pytest.mark.parametrize("answer", [
    tool({"action": "wait", "time": 3600}),
    tool({"action": "wait", "time": 1e10}),
    "Action: wait(seconds=3600)",
    "Action: wait(seconds=1e10)",
])
def test_waits_are_bounded_in_every_dialect(answer):
    with pytest.raises(ParseError, match="0-60"):
        parse_response(answer)


def test_the_wait_type_itself_refuses_what_no_dialect_may_build():
    assert Wait(MAX_WAIT_SECONDS).seconds == 60
    for bad in (60.5, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            Wait(bad)


def test_an_answer_with_a_thousand_clicks_is_refused_not_performed():
    answer = "Action: " + "\n".join(f"click(start_box='({i},{i})')" for i in range(1000))
    with pytest.raises(ParseError, match=f"1000 actions; at most {MAX_ACTIONS_PER_STEP}"):
        parse_response(answer)
    many = "Action: " + "\n".join(f"click(start_box='({i},{i})')" for i in range(MAX_ACTIONS_PER_STEP))
    assert len(parse_response(many).actions) == MAX_ACTIONS_PER_STEP


def test_a_runaway_answer_is_cut_before_parsing():
    huge = "Thought: " + "x" * 10_000_000 + "\nAction: finished()"
    assert len(bound_answer(huge)) == MAX_ANSWER_CHARS
    with pytest.raises(ParseError):  # the action was past the cut
        parse_response(huge)


def test_deep_json_lone_surrogates_and_a_bom_are_handled():
    deep = tool({"action": "left_click", "coordinate": [1, 2]}).replace('[1, 2]', "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ParseError):
        parse_response(deep)
    step = parse_response("Thought: caf\ud800\nAction: finished(content='\udfff')")
    assert step.thought == "caf\ufffd" and step.actions == (Finished("\ufffd"),)
    json.dumps(step.thought, ensure_ascii=False).encode("utf-8")  # writable as UTF-8
    assert parse_response("\ufeffAction: click(start_box='(1,2)')").actions == (Click(1, 2),)


def test_scroll_amount_survives_to_text():
    a = Scroll(10, 20, "down", 7)
    assert parse_response("Action: " + a.to_text()).actions == (a,)


def tars(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tars", *args], input=stdin, cwd=ROOT,
                          capture_output=True, timeout=60)


CLICK = b"Action: click(start_box='(1,2)')\n"


@pytest.mark.parametrize("args,needle", [
    (["--max-pixels", "0"], "max_pixels must be at least 784"),
    (["--max-pixels", "-5"], "max_pixels must be at least 784"),
    (["--min-pixels", "9000000", "--max-pixels", "1000000"], "above max_pixels"),
])
def test_parse_refuses_a_bad_pixel_budget_in_one_line(args, needle):
    r = tars("parse", "--image-size", "1920x1080", *args, stdin=CLICK)
    err = r.stderr.decode()
    assert r.returncode == 2 and needle in err and err.count("\n") == 1, err


def test_parse_refuses_invalid_utf8_and_reads_past_a_bom():
    r = tars("parse", stdin=b"Action: click(start_box='(1,2)')\xff\n")
    assert r.returncode == 2 and b"not valid UTF-8" in r.stderr and r.stdout == b""
    r = tars("parse", stdin=b"\xef\xbb\xbf" + CLICK)
    assert r.returncode == 0 and json.loads(r.stdout)["actions"] == [{"action": "click", "x": 1, "y": 2}]


def test_parse_reads_a_huge_answer_only_up_to_the_bound():
    import time

    t0 = time.monotonic()
    r = tars("parse", stdin=b"Thought: " + b"x" * 50_000_000 + b"\n" + CLICK)
    assert time.monotonic() - t0 < 20  # the unbounded parser took 57 s and 1.45 GB
    assert r.returncode == 2, r.stderr  # the action lay past the bound
    assert b"longer than 32768 characters" in r.stderr


def test_an_over_long_answer_that_does_not_parse_is_one_line_naming_the_cut():
    r = tars("parse", stdin=b"Action: " + CLICK * 5000)  # cut in the middle of a click
    lines = r.stderr.decode().strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, lines
    assert "longer than 32768 characters" in lines[0] and "do not parse" in lines[0]
    r = tars("parse", stdin=b"Thought: hi\n" + CLICK + b" " * 40000)  # the start parses: a note
    assert r.returncode == 0 and json.loads(r.stdout)["actions"][0]["x"] == 1
    assert r.stderr.decode().strip().splitlines() == [
        "tars: the answer is longer than 32768 characters; only the first 32768 are read"]


@pytest.mark.parametrize("args", [["parse"], ["parse", "--image-size", "100x100"],
                                  ["parse", "--help"], ["models"]],
                         ids=["lean parse", "lean parse with options", "Typer help", "Typer command"])
def test_a_stdout_that_cannot_take_the_output_ends_in_one_line_or_quietly(args):
    """`> /dev/full`: one line, exit 74 (EX_IOERR). A reader that went away (`| head`): no
    traceback; tars's own writes end with 141 (128 + SIGPIPE), Rich's with its quiet exit 1."""
    import os

    with open("/dev/full", "wb") as full:
        r = subprocess.run([sys.executable, "-m", "tars", *args], input=CLICK, stdout=full,
                           stderr=subprocess.PIPE, cwd=ROOT, timeout=60)
    assert r.returncode == 74, r.stderr
    assert r.stderr.decode().splitlines() == ["tars: cannot write the output: No space left on device"]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before tars writes anything
    try:
        r = subprocess.run([sys.executable, "-m", "tars", *args], input=CLICK, stdout=write_end,
                           stderr=subprocess.PIPE, cwd=ROOT, timeout=60)
    finally:
        os.close(write_end)
    assert r.stderr == b"", r.stderr
    assert r.returncode == (1 if args in (["models"], ["parse", "--help"]) else 141)  # Rich prints those


def test_an_internal_error_is_one_line_with_status_70():
    code = ("import sys; from tars.frontends import cli\n"
            "@cli.app.command('boom')\n"
            "def boom():\n    raise RuntimeError('kaputt')\n"
            "sys.argv = ['tars', 'boom']; cli.main()")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 70
    assert r.stderr.strip() == "tars: internal error: RuntimeError: kaputt (set TARS_DEBUG=1 for the traceback)"
