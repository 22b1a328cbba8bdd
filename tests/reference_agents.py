"""Import OSWorld's reference agents (``mm_agents`` of the ``desktop-env`` 1.0.2 package) for
differential tests.

``desktop-env`` is installed with ``pip install --no-deps`` (its declared requirements are huge
and pinned; see the Makefile), so some of the reference modules' imports are missing. Only those
that the compared code never uses are stubbed, and only while the reference module is imported:
:func:`load_reference` puts the stubs into ``sys.modules`` for the import only (:func:`_stubbed_import`), so no stub (and no
reference module imported over a stub) stays in ``sys.modules`` to leak into other tests. The returned module object
keeps working: its globals hold the stubs it was imported with.

Shared by the fidelity tests (issue 11) and the model-family tests (issue 12): add a stub to
:data:`STUBS` when another reference module imports something it does not need.
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from typing import Any, Callable

import pytest


class _Logger:
    """Stand-in for ``loguru.logger``: every method logs nothing."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def _module(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _passthrough_decorator(*args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
    return lambda fn: fn


def _gym() -> types.ModuleType:
    class Env:  # DesktopEnv's base class; nothing of it is used by evaluate()
        pass

    return _module("gymnasium", Env=Env)


def _google_exceptions() -> dict[str, types.ModuleType]:
    errors = {n: type(n, (Exception,), {}) for n in
              ("BadRequest", "InternalServerError", "InvalidArgument", "ResourceExhausted")}
    exc = _module("google.api_core.exceptions", **errors)
    core = _module("google.api_core", exceptions=exc)
    google = _module("google", api_core=core)
    google.__path__ = []  # a package, so other google.* imports fail cleanly
    return {"google": google, "google.api_core": core, "google.api_core.exceptions": exc}


def _qwen_vl_utils() -> types.ModuleType:
    import qwen_vl_utils  # the real one: qwen3vl/jedi agents import it as mm_agents.utils...

    return qwen_vl_utils


#: module name -> factory of its stand-in; used only where the real module is not importable
STUBS: dict[str, Callable[[], Any]] = {
    "loguru": lambda: _module("loguru", logger=_Logger()),
    "backoff": lambda: _module("backoff", on_exception=_passthrough_decorator, constant=None, expo=None),
    "gymnasium": _gym,
}


def _stubs_for(names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            if name in STUBS:
                out[name] = STUBS[name]()
            elif name == "google.api_core":
                out.update(_google_exceptions())
    return out


def _stubbed_import(name: str, stubs: dict[str, Any]) -> types.ModuleType:
    """Import ``name`` with ``stubs`` in ``sys.modules``; afterwards the stubs, and every
    ``mm_agents`` / ``desktop_env`` module imported meanwhile (it may hold a stub), are taken out
    again. Real libraries imported on the way (numpy, openai) stay: they cannot be loaded twice."""
    before = set(sys.modules)
    saved = {k: sys.modules[k] for k in stubs if k in sys.modules}
    sys.modules.pop(name, None)
    sys.modules.update(stubs)
    try:
        return importlib.import_module(name)
    finally:
        for key in stubs:
            sys.modules.pop(key, None)
        sys.modules.update(saved)
        for key in set(sys.modules) - before:
            if key.split(".")[0] in ("mm_agents", "desktop_env") and key not in ("mm_agents", "desktop_env"):
                sys.modules.pop(key, None)


def _require_desktop_env() -> None:
    try:
        importlib.import_module("mm_agents")
    except ImportError:
        pytest.fail("OSWorld's reference agents are missing: pip install --no-deps desktop-env==1.0.2 "
                    "(the Makefile's test target does this)")


def load_reference(module: str, extra: dict[str, Any] | None = None) -> types.ModuleType:
    """``mm_agents.<module>`` (e.g. ``uitars15_v1``) imported with its unneeded imports stubbed.

    ``extra``: more ``sys.modules`` entries for this import only (name -> module object).
    Fails the test (not skip) when desktop-env is not installed: the differential tests are
    the proof of fidelity and must run in CI.
    """
    _require_desktop_env()
    name = f"mm_agents.{module}"
    stubs = _stubs_for(["loguru", "backoff", "google.api_core", "gymnasium"])
    if module in ("qwen3vl_agent", "jedi_3b_agent", "jedi_7b_agent"):
        utils = _module("mm_agents.utils")
        utils.__path__ = []
        stubs.update({"mm_agents.utils": utils, "mm_agents.utils.qwen_vl_utils": _qwen_vl_utils()})
    stubs.update(extra or {})
    loaded = _stubbed_import(name, stubs)
    logging.getLogger("desktopenv").handlers.clear()
    return loaded


def load_desktop_env_class() -> type:
    """``desktop_env.desktop_env.DesktopEnv``, OSWorld's environment class, for calling its
    ``evaluate`` unbound on a small object (the scoring rule). Its controllers, providers,
    getters and metrics (VM clients with large dependency trees) are stubbed: ``evaluate``'s
    FAIL/infeasible rule uses none of them, and the metric is given as a plain function."""
    _require_desktop_env()

    class _Controller:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def setup(self, *args: Any, **kwargs: Any) -> bool:
            return True

    stubs = _stubs_for(["gymnasium"])
    evaluators = _module("desktop_env.evaluators", metrics=_module("metrics"), getters=_module("getters"))
    evaluators.__path__ = []
    stubs.update({
        "desktop_env.controllers.python": _module("desktop_env.controllers.python", PythonController=_Controller),
        "desktop_env.controllers.setup": _module("desktop_env.controllers.setup", SetupController=_Controller),
        "desktop_env.evaluators": evaluators,
        "desktop_env.providers": _module("desktop_env.providers",
                                         create_vm_manager_and_provider=lambda *a, **k: (None, None)),
    })
    module = _stubbed_import("desktop_env.desktop_env", stubs)
    return module.DesktopEnv
