"""Fuzz the parser at benchmark size (issue 16): 10^6 mutated answers in every dialect (UI-TARS
text, JSON tool calls, Seed XML, pyautogui code) give a Step or a ParseError, nothing else.

    python benchmarks/bench_parse_fuzz.py [N]        (default 1,000,000; tests run a small N)

Prints the count per outcome and the rate; exits 1 (with the first offending input) when any
other exception escapes. Mutations: character replacement/insertion/deletion from an alphabet
of the grammars' own punctuation, truncation, duplication, deep nesting and huge numbers.
"""

from __future__ import annotations

import random
import sys
import time

from tars.actions.parse import ParseError, parse_response

SEEDS = [
    "Thought: open it\nAction: click(start_box='(100,200)')",
    "Action: drag(start_box='(1,2,3,4)', end_box='(5,6)')\n\nAction: type(content='a\\'b\\n')",
    "Action: hotkey(key='ctrl shift +')\nAction: scroll(start_box='(3,4)', direction='down', amount=7)",
    "Action: wait(seconds=2.5)\nAction: finished(content='done')",
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [10, 20]}}\n</tool_call>',
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait", "time": 3}}\n</tool_call>'
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["ctrl", "c"]}}\n</tool_call>',
    "<function=click>\n<parameter=point>(100,200)</parameter>\n</function>",
    "<seed:tool_call><function=type><parameter=content>hi</parameter></function></seed:tool_call>",
    "## Code:\n```python\npyautogui.click(x=100, y=200)\n```",
    "```python\npyautogui.moveTo(10, 20)\npyautogui.dragTo(300, 400, duration=0.5)\npyautogui.write('x')\n```",
    "```python\npyautogui.hotkey('ctrl', 'a')\ncomputer.wait()\ncomputer.terminate(status='success')\n```",
]
ALPHABET = "()[]{}<>'\",:=\\/\n\t #*`+-._0123456789eE" + "abcxyz" + "\ufeff\ud800\u200b\x00é東"
SPECIAL = ["[" * 2000, "{" * 2000, "1e400", "-1e308", "NaN", "Infinity", "9" * 400, "\\u", "</tool_call>",
           "<tool_call>", "Action:", "```", "__import__('os')", "lambda: 1", "eval(", "\n" * 50]


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        i = rng.randint(0, len(text)) if text else 0
        if op < 0.3:
            text = text[:i] + rng.choice(ALPHABET) + text[i + 1:]
        elif op < 0.5:
            text = text[:i] + rng.choice(ALPHABET) * rng.randint(1, 3) + text[i:]
        elif op < 0.65:
            text = text[:i] + text[i + rng.randint(1, 8):]
        elif op < 0.75:
            text = text[:i]
        elif op < 0.85:
            text = text[:i] + rng.choice(SPECIAL) + text[i:]
        else:
            text = text + "\n" + rng.choice(SEEDS)
    return text


def fuzz(n: int, seed: int = 16) -> dict[str, int]:
    """Parse ``n`` mutated answers; returns counts by outcome. Raises AssertionError (with the
    input) when anything but a Step or a ParseError comes out."""
    rng = random.Random(seed)
    counts = {"step": 0, "parse_error": 0}
    for _ in range(n):
        text = mutate(rng, rng.choice(SEEDS))
        try:
            parse_response(text)
            counts["step"] += 1
        except ParseError:
            counts["parse_error"] += 1
        except Exception as exc:  # noqa: BLE001 - what the fuzzer looks for
            raise AssertionError(f"{type(exc).__name__}: {exc} on {text!r}") from exc
    return counts


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.perf_counter()
    try:
        counts = fuzz(n)
    except AssertionError as exc:
        print(f"FAIL: {exc}"[:2000])
        return 1
    took = time.perf_counter() - t0
    print(f"{n} fuzzed answers: {counts['step']} steps, {counts['parse_error']} ParseErrors, "
          f"nothing else; {took:.1f} s ({n / took:,.0f} answers/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
