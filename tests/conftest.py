"""Shared fixtures: virtual X displays for tests marked `display`, CUDA skip for `gpu`."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tars.agent.display import VirtualDisplay

# Child processes (`python -m tars ...`, practice apps, task workers) import the tars of this
# checkout, whatever their working folder and whichever checkout the venv was installed from.
_ROOT = str(Path(__file__).resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)

# A shell without job control (CI's `make test`, a script's `cmd &`) starts its background
# commands with SIGINT ignored, and an ignored signal stays ignored across exec: the Ctrl+C
# tests' children would never see the SIGINT they are sent. The tests stand for a person at a
# terminal, where SIGINT has its default action; a handler set here becomes SIG_DFL in every
# child at exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


#: optional module -> the extra that installs it (the skip reason names the install command)
EXTRAS = {"PySide6": "gui", "mss": "desktop", "Xlib": "desktop", "pynput": "desktop",
          "pyautogui": "desktop", "rapidocr_onnxruntime": "lite", "openvino": "lite", "cv2": "lite", "torch": "hf",
          "transformers": "hf", "peft": "hf", "qwen_vl_utils": "hf", "ray": "osworld",
          "desktop_env": "dev"}


def _missing(modules) -> list[str]:
    import importlib.util

    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def pytest_collection_modifyitems(config, items):
    # @pytest.mark.needs("PySide6", ...): skipped, with the reason, when a module is missing
    for item in items:
        needed = [m for mark in item.iter_markers("needs") for m in mark.args]
        missing = _missing(dict.fromkeys(needed))
        if missing:
            extras = sorted({EXTRAS.get(m, "all") for m in missing})
            item.add_marker(pytest.mark.skip(reason=f"needs {', '.join(missing)} "
                                                    f"(pip install -e \".[{','.join(extras)}]\")"))
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:  # importing torch costs seconds: only when a gpu test was collected
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # torch missing or broken: no CUDA either way
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture
def virtual_display(monkeypatch):
    """Factory: ``virtual_display(width, height, wm=True)`` starts an Xvfb (+ openbox), points
    this process's DISPLAY at it, and stops it after the test."""
    started: list[VirtualDisplay] = []

    def start(width: int = 1280, height: int = 800, wm: bool = True) -> VirtualDisplay:
        d = VirtualDisplay(width, height, wm=wm).start()
        started.append(d)
        monkeypatch.setenv("DISPLAY", d.display)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        return d

    yield start
    for d in reversed(started):
        d.stop()
