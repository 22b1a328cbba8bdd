"""Writes the held-out suite: ``python assets/heldout/make_suite.py assets/heldout`` ->
assets/heldout/{explicit,natural}/<task>.json (16 tasks, one file per phrasing; see README.md)."""
import json
import sys
from pathlib import Path

OUT = Path(sys.argv[1])

def galc(cmd_title="^galculator$"):
    return [{"type": "launch", "parameters": {"command": ["env", "HOME={workdir}", "galculator"],
                                              "wait_window": cmd_title}},
            {"type": "sleep", "parameters": {"seconds": 1}}]

def galc_display(value):
    # the calculator's own display, copied with its Edit > Copy (ctrl+c) and read from the clipboard
    return {"func": "command_output_matches",
            "result": {"type": "command", "shell": True, "command":
                       "w=$(xdotool search --onlyvisible --name '^galculator$' | head -1); "
                       "xdotool windowactivate --sync $w key --clearmodifiers ctrl+c; sleep 0.5; "
                       "xclip -o -selection clipboard"},
            "expected": {"type": "rule", "rules": {"pattern": rf"^\s*{value}\s*$"}}}

def editor(content, name="pets.txt"):
    return [{"type": "write", "parameters": {"path": "{workdir}/" + name, "content": content}},
            {"type": "launch", "parameters": {"command": ["env", "HOME={workdir}", "l3afpad", "{workdir}/" + name],
                                              "wait_window": "^" + name.replace(".", r"\.") + "$"}},
            {"type": "sleep", "parameters": {"seconds": 1}}]

def file_is(name, text):
    return {"func": "file_equals", "result": {"type": "file", "path": "{workdir}/" + name},
            "expected": {"type": "rule", "rules": {"text": text}}}

def yad(args, title, out="yad.out"):
    return [{"type": "launch", "parameters": {
        "command": "yad --title '" + title + "' " + args + " > '{workdir}/" + out + "'",
        "shell": True, "wait_window": "^" + title + "$"}},
        {"type": "sleep", "parameters": {"seconds": 1}}]

def out_matches(pattern, out="yad.out"):
    return {"func": "file_matches", "result": {"type": "file", "path": "{workdir}/" + out},
            "expected": {"type": "rule", "rules": {"pattern": pattern}}}

def tk(name=""):
    cmd = ["{python}", "{task_dir}/../apps/order_form.py", "--state", "{workdir}/order.json"]
    if name:
        cmd += ["--name", name]
    return [{"type": "launch", "parameters": {"command": cmd, "wait_window": "^Pizza order$"}},
            {"type": "sleep", "parameters": {"seconds": 1}}]

def order_is(**expect):
    return {"func": "app_state_equals", "result": {"type": "app_state", "path": "{workdir}/order.json"},
            "expected": {"type": "rule", "rules": {"expect": {f"orders.0.{k}": v for k, v in expect.items()}}}}

INFEASIBLE = {"func": "infeasible"}

FORM = ("--form --width 420 --field 'Name' --field 'Email' --field 'Country:CB' "
        "--field 'I agree to the terms:CHK' '' '' 'Germany!France!Spain' FALSE")

TASKS = [
    # id, explicit, natural, config, evaluator, max_steps, infeasible
    ("galculator-add", "click 7, then click +, then click 5, then click =", "compute 7 + 5",
     galc(), galc_display("12"), 10, False),
    ("galculator-sqrt", "click 8, then click 1, then click sqrt", "calculate the square root of 81",
     galc(), galc_display("9"), 10, False),
    ("galculator-type-product", 'type "12*3", then press enter', "multiply 12 by 3",
     galc(), galc_display("36"), 8, False),
    ("galculator-clear-history", "click Clear history", "clear the calculation history",
     galc(), INFEASIBLE, 5, True),
    ("l3afpad-type-save", 'type "held out works", then press ctrl+s', 'write "held out works" and save the file',
     editor("", "note.txt"), file_is("note.txt", "held out works"), 8, False),
    ("l3afpad-replace-all",
     'press ctrl+r, then type "cat" into the Find what field, then type "dog" into the Replace with field, '
     'then check Replace all at once, then click Find and Replace, then press ctrl+s',
     'open the Replace dialog with ctrl+r, replace "cat" with "dog" everywhere, then save with ctrl+s',
     editor("the cat sat on the cat mat\n"), file_is("pets.txt", "the dog sat on the dog mat"), 14, False),
    ("l3afpad-spell-check", "click the Spell check button", "run the spell checker",
     editor("teh cat\n"), INFEASIBLE, 5, True),
    ("yad-register",
     'type "Ada Lovelace" into the Name field, then type "ada@example.org" into the Email field, '
     'then select "France" from the Country dropdown, then check I agree to the terms, then click OK',
     "Register Ada Lovelace (ada@example.org) from France, agree to the terms and hit OK",
     yad(FORM, "Register"), out_matches(r"^Ada Lovelace\|ada@example\.org\|France\|TRUE\|"), 16, False),
    ("yad-age-spin", 'type "85" into the Age field, then click OK', "set Age to 85 and press OK",
     yad("--form --width 360 --field 'Name' --field 'Age:NUM' 'Ada' '30!0..120!1'", "Age"),
     out_matches(r"^Ada\|85(\.0+)?\|"), 8, False),
    ("yad-volume-slider", "click the Volume slider, then press end, then click OK",
     "turn the Volume all the way up, then click OK",
     yad("--form --width 400 --field 'Volume:SCL' 20", "Volume"), out_matches(r"^100\|"), 8, False),
    ("yad-start-date", 'type "2026-12-25" into the Start date field, then click OK',
     "set the start date to 2026-12-25 and confirm with OK",
     yad("--form --width 400 --date-format=%Y-%m-%d --field 'Start date:DT' ''", "Dates"),
     out_matches(r"^2026-12-25\|"), 8, False),
    ("yad-checklist", "check Milk, then check Eggs, then click OK", "tick Milk and Eggs and press OK",
     yad("--list --checklist --width 300 --height 300 --column Buy --column Item "
         "FALSE Milk FALSE Bread FALSE Eggs FALSE Butter", "Shopping"),
     out_matches(r"^TRUE\|Milk\|\nTRUE\|Eggs\|\s*$"), 10, False),
    ("yad-calendar", "click 15, then click OK", "pick December 15 and press OK",
     yad("--calendar --date-format=%Y-%m-%d --day 1 --month 12 --year 2026", "Pick a date"),
     out_matches(r"^2026-12-15\s*$"), 8, False),
    ("tk-order-large-olives",
     "click Large, then check Olives, then click Place order, then click Yes",
     "choose the Large size with olives and place the order",
     tk("Ada"), order_is(name="Ada", size="Large", olives=True, mushrooms=False), 12, False),
    ("tk-order-quantity",
     'type "Grace" into the Name field, then type "3" into the Quantity field, then click Place order, then click Yes',
     "Name: Grace, Quantity: 3, then place the order",
     tk(), order_is(name="Grace", quantity=3, size="Medium"), 12, False),
    ("tk-order-send", "click the Send button", "hit the Send button",
     tk("Ada"), INFEASIBLE, 5, True),
]

for kind in ("explicit", "natural"):
    d = OUT / kind
    d.mkdir(parents=True, exist_ok=True)
    for tid, explicit, natural, config, evaluator, steps, infeasible in TASKS:
        task = {"id": f"{tid}-{kind}", "instruction": explicit if kind == "explicit" else natural,
                "config": config, "evaluator": evaluator, "max_steps": steps}
        if infeasible:
            task["infeasible"] = True
        (d / f"{tid}.json").write_text(json.dumps(task, indent=2, ensure_ascii=False) + "\n")
print(len(TASKS), "tasks x 2 phrasings")
