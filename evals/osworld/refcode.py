"""OSWorld's own setup and evaluation code (PyPI ``desktop-env``), imported piece by piece.

``desktop_env/evaluators/metrics/__init__.py`` and ``getters/__init__.py`` import every
metric and getter module, and with them easyocr, librosa, borb, formulas, playwright ...
A task uses one or two of them. :func:`install` puts package objects for those two packages
into ``sys.modules`` whose attributes resolve through the reference's own ``__init__`` files
(read with :mod:`ast`: ``from .vlc import is_vlc_fullscreen`` -> module ``vlc``), so
``getattr(metrics, "check_qt_max_volume")`` imports ``metrics/vlc.py`` alone, and
``desktop_env.desktop_env`` (``DesktopEnv.evaluate``, the scoring code) imports unchanged.
desktop-env is installed with ``pip install --no-deps desktop-env==1.0.2`` and the ``osworld``
extra brings what these modules import.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import re
import sys
import types
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

#: the version whose files this was written against
DESKTOP_ENV_VERSION = "1.0.2"
INSTALL_HINT = 'pip install --no-deps "desktop-env==1.0.2" and pip install -e ".[osworld]"'


class RefCodeError(RuntimeError):
    """desktop-env is missing, or a piece of it cannot be imported (the message says which
    package is missing)."""


def package_dir() -> Path:
    """The folder of the installed ``desktop_env`` package.

    Raises:
        RefCodeError: desktop-env is not installed.
    """
    spec = importlib.util.find_spec("desktop_env")
    if spec is None or not spec.submodule_search_locations:
        raise RefCodeError(f"OSWorld's desktop-env is not installed ({INSTALL_HINT})")
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=None)
def name_map(package: str) -> dict[str, str | None]:
    """``{function name: submodule}`` from the reference's ``evaluators/<package>/__init__.py``
    (``package``: ``"metrics"`` or ``"getters"``). A function defined in the ``__init__``
    itself (``infeasible``) maps to None."""
    init = package_dir() / "evaluators" / package / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    names: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
    return names


@lru_cache(maxsize=None)
def setup_types() -> frozenset[str]:
    """Setup step types OSWorld's SetupController knows: its ``_<type>_setup`` methods
    (read from ``controllers/setup.py`` without importing it)."""
    text = (package_dir() / "controllers" / "setup.py").read_text(encoding="utf-8")
    return frozenset(re.findall(r"^\s+def _(\w+)_setup\(", text, flags=re.M))


class _LazyPackage(types.ModuleType):
    """``desktop_env.evaluators.metrics`` / ``.getters`` without their ``__init__``."""

    def __init__(self, name: str, path: Path, short: str) -> None:
        super().__init__(name)
        self.__path__ = [str(path)]
        self.__package__ = name
        self._short = short

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        names = name_map(self._short)
        if attr not in names:
            raise AttributeError(f"desktop-env {DESKTOP_ENV_VERSION} has no {self._short[:-1]} {attr!r}")
        sub = names[attr]
        if sub is None:  # defined in the __init__ itself: run only that definition
            value = _init_function(self._short, attr)
        else:
            try:
                module = importlib.import_module(f"{self.__name__}.{sub}")
            except ImportError as exc:
                raise RefCodeError(
                    f"desktop-env's {self._short}/{sub}.py needs the package {exc.name!r} "
                    f"({INSTALL_HINT})") from None
            value = getattr(module, attr)
        setattr(self, attr, value)
        return value


def _init_function(package: str, name: str) -> Callable:
    init = package_dir() / "evaluators" / package / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace: dict[str, Any] = {}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(init), "exec"), namespace)
    return namespace[name]


def install() -> None:
    """Register the lazy packages (idempotent). Call before importing any of desktop_env's
    evaluation code.

    Raises:
        RefCodeError: desktop-env is not installed.
    """
    base = package_dir()
    if isinstance(sys.modules.get("desktop_env.evaluators.metrics"), _LazyPackage):
        return
    # desktop-env logs every retry at ERROR level; tars reports outcomes itself
    quiet = logging.getLogger("desktopenv")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    evaluators = types.ModuleType("desktop_env.evaluators")
    evaluators.__path__ = [str(base / "evaluators")]
    evaluators.__package__ = "desktop_env.evaluators"
    sys.modules["desktop_env.evaluators"] = evaluators
    for short in ("metrics", "getters"):
        pkg = _LazyPackage(f"desktop_env.evaluators.{short}", base / "evaluators" / short, short)
        sys.modules[pkg.__name__] = pkg
        setattr(evaluators, short, pkg)


def metric(name: str) -> Callable:
    """OSWorld's metric function ``name``.

    Raises:
        RefCodeError: unknown in this desktop-env, or its module cannot be imported.
    """
    install()
    try:
        return getattr(sys.modules["desktop_env.evaluators.metrics"], name)
    except AttributeError as exc:
        raise RefCodeError(str(exc)) from None


def getter(kind: str) -> Callable:
    """OSWorld's result getter for ``{"type": kind}`` (``get_<kind>``).

    Raises:
        RefCodeError: unknown in this desktop-env, or its module cannot be imported.
    """
    install()
    try:
        return getattr(sys.modules["desktop_env.evaluators.getters"], f"get_{kind}")
    except AttributeError as exc:
        raise RefCodeError(str(exc)) from None


def import_module(name: str) -> types.ModuleType:
    """Import one of desktop_env's own modules (``desktop_env.desktop_env``,
    ``desktop_env.controllers.setup`` ...) with the lazy packages in place.

    Raises:
        RefCodeError: a package it imports is missing (named).
    """
    install()
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise RefCodeError(f"{name} needs the package {exc.name!r} ({INSTALL_HINT})") from None
