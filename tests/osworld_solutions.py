"""Scripted UI-TARS answers that solve OSWorld local tasks (tests/test_osworld_tasks.py).

Each solution is what a UI-TARS model would answer step by step, in its action language,
on OSWorld's 1920x1080 screen. Several go through a terminal opened with Ctrl+Alt+T (as on
OSWorld's Ubuntu VM): they reach the goal state the task's evaluator checks, but they are
not the dialogs a person would click through; gimp d52d6308 uses GIMP's own shortcut and
chrome 030eeff7 Chromium's settings page.
"""

from __future__ import annotations

import shutil

OPEN_TERMINAL = "Thought: I will open a terminal.\nAction: hotkey(key='ctrl alt t')"


def _terminal(*commands: str) -> list[str]:
    steps = [OPEN_TERMINAL]
    steps += [f"Action: type(content='{c}\\n')" for c in commands]
    return steps + ["Action: finished()"]


#: id -> (domain, the programs it needs beyond the small desktop, replies)
SOLUTIONS: dict[str, tuple[str, tuple[str, ...], list[str]]] = {
    "f9be0997-4b7c-45c5-b05c-4612b44a6118": (
        "os", (), _terminal("gsettings set org.gnome.desktop.notifications show-banners false")),
    "a4d98375-215b-4a4d-aee9-3d4370fccc41": (
        "os", (), _terminal("gsettings set org.gnome.desktop.screensaver lock-enabled true")),
    "bedcedc4-4d72-425e-ad62-21960b11fe0d": (
        "os", (), _terminal("gsettings set org.gnome.desktop.session idle-delay 0")),
    "e0df059f-28a6-4169-924f-b9623e7184cc": (
        "os", (), _terminal("mv ~/Desktop/todo_list_Jan_1 ~/Desktop/todo_list_Jan_2")),
    "3ce045a0-877b-42aa-8d2c-b4a863336ab8": (
        "os", (), _terminal("gsettings set org.gnome.desktop.interface text-scaling-factor 1.5")),
    "9195653c-f4aa-453d-aa95-787f6ccfaae9": (
        "vlc", ("vlc",), _terminal("sed -i s/^#qt-max-volume=.*/qt-max-volume=200/ ~/.config/vlc/vlcrc")),
    "8ba5ae7a-5ae5-4eab-9fcc-5dd4fe3abf89": (
        "vlc", ("vlc",), _terminal("sed -i s@^#input-record-path=.*@input-record-path=/home/user/Desktop@ "
                                   "~/.config/vlc/vlcrc")),
    "d52d6308-ec58-42b7-a2c9-de80e4837b2b": (
        "gimp", ("gimp",), [
            "Thought: GIMP is still starting.\nAction: wait()", "Action: wait()",
            "Thought: Tab hides the docks.\nAction: hotkey(key='tab')", "Action: wait()", "Action: finished()"]),
    # Chromium's own settings page: the Do Not Track switch, then its Confirm button (pixels
    # of Chromium's default window on OSWorld's 1920x1080 screen)
    "030eeff7-b492-4218-b312-701ec99ee0cc": (
        "chrome", ("chromium",), [
            "Action: hotkey(key='ctrl l')", "Action: type(content='chrome://settings/cookies\\n')", "Action: wait()",
            "Thought: the Do Not Track switch.\nAction: click(start_box='(781,682)')", "Action: wait()",
            "Thought: confirm it.\nAction: click(start_box='(682,706)')",
            # Chromium writes its Preferences file up to 10 s after a change
            "Action: wait()", "Action: wait()", "Action: finished()"]),
    "2373b66a-092d-44cb-bfd7-82e86e7a3b4d": (
        # sar takes 30 s; typing in between changes the screen, so the loop guard sees progress
        "multi_apps", (), [OPEN_TERMINAL, "Action: type(content='sar -u 1 30 > ~/Desktop/System_Resources_Report.txt\\n')",
                           *["Action: wait()"] * 3, "Action: type(content='date\\n')", *["Action: wait()"] * 3,
                           "Action: type(content='date\\n')", "Action: wait()", "Action: finished()"]),
}


def apps_present(apps: tuple[str, ...]) -> bool:
    """Whether every program in ``apps`` is installed."""
    return all(shutil.which(a) for a in apps)
