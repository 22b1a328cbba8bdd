"""The desktop app's settings and how they persist (QSettings).

The API key is a secret: it lives in memory, and goes to QSettings only when the user ticks
"remember key". It is never part of :meth:`AppSettings.public` (what a trajectory, a log or a
report may hold).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tars.agent.harness import HARNESSES
from tars.agent.runbuild import PolicyOptions, RunOptions

#: policies the app offers, in the order of its menu
APP_POLICIES = ("lite", "hf", "openai")
#: languages offered for the model's thoughts (free text is accepted too)
LANGUAGES = ("English", "Chinese")


@dataclass
class AppSettings:
    """Everything the app's form holds.

    ``policy``: one of :data:`APP_POLICIES`. ``model``: Hub id or folder (hf), served name
    (openai). ``adapter``: LoRA folder (hf). ``endpoint``/``api_key``: OpenAI-compatible server.
    ``remember_key``: persist the key in QSettings (plain text in the user's config).
    ``max_steps``: step limit. ``language``: language of thoughts. ``record_dir``: parent folder;
    each run records to a new sub-folder. ``overlay``: show the overlay during runs.
    ``keep_overlay_in_captures``: leave the overlay in the model's screenshots (recordings).
    ``monitor``: mss monitor index the operator captures and acts on. ``profile``: model
    profile name ("" = from the model name). ``max_new_tokens``: tokens per answer (0 = the
    profile's). ``timeout``: seconds per endpoint request (0 = default). ``max_seconds``:
    wall-time limit of a run (0 = none). ``history_images``: screenshots per prompt.
    ``harness``: episode rules, ``tars`` | ``osworld`` (:mod:`tars.agent.harness`).
    ``allow_risky``: perform risky actions (Ctrl+Alt+Delete, logout, power, ``rm -rf`` in a
    terminal) without asking, as ``tars run --allow-risky``; off: the app asks each time.
    """

    policy: str = "lite"
    model: str = ""
    adapter: str = ""
    endpoint: str = ""
    api_key: str = ""
    remember_key: bool = False
    max_steps: int = 50
    language: str = "English"
    record_dir: str = ""
    overlay: bool = True
    keep_overlay_in_captures: bool = False
    monitor: int = 1
    profile: str = ""
    max_new_tokens: int = 0
    timeout: float = 0.0
    max_seconds: float = 0.0
    history_images: int = 5
    harness: str = "tars"
    allow_risky: bool = False

    def policy_options(self) -> PolicyOptions:
        """The options :func:`tars.agent.runbuild.make_policy` takes (empty strings and zeros
        -> None, the defaults)."""
        return PolicyOptions(
            policy=self.policy or None, model=self.model or None, adapter=self.adapter or None,
            endpoint=self.endpoint or None, api_key=self.api_key or None,
            profile=self.profile or None, max_new_tokens=self.max_new_tokens or None,
            timeout=self.timeout or None,
        )

    def run_options(self) -> RunOptions:
        """The run these settings describe, built by :mod:`tars.agent.runbuild` like every
        front end's."""
        return RunOptions(self.policy_options(), max_steps=self.max_steps,
                          max_seconds=self.max_seconds or None,
                          history_images=self.history_images, language=self.language,
                          monitor=self.monitor, harness=self.harness, allow_risky=self.allow_risky)

    def public(self) -> dict[str, Any]:
        """Settings safe to write anywhere: the API key removed."""
        data = asdict(self)
        data.pop("api_key")
        return data


_GROUP = "app"


def load_settings(store: Any) -> AppSettings:
    """Read settings from ``store`` (a QSettings); missing or unreadable values keep defaults."""
    defaults = AppSettings()
    values: dict[str, Any] = {}
    store.beginGroup(_GROUP)
    try:
        for f in fields(AppSettings):
            default = getattr(defaults, f.name)
            if not store.contains(f.name):
                continue
            raw = store.value(f.name)
            try:
                if isinstance(default, bool):
                    value: Any = raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
                elif isinstance(default, int):
                    value = int(raw)
                elif isinstance(default, float):
                    value = float(raw)
                else:
                    value = "" if raw is None else str(raw)
            except (TypeError, ValueError):
                continue
            values[f.name] = value
    finally:
        store.endGroup()
    settings = AppSettings(**{**asdict(defaults), **values})
    if settings.policy not in APP_POLICIES:
        settings.policy = defaults.policy
    if settings.harness not in HARNESSES:
        settings.harness = defaults.harness
    if not settings.remember_key:
        settings.api_key = ""
    return settings


def save_settings(settings: AppSettings, store: Any) -> None:
    """Write ``settings`` to ``store``; the API key only when ``remember_key`` (else erased)."""
    store.beginGroup(_GROUP)
    try:
        for key, value in asdict(settings).items():
            if key == "api_key":
                if settings.remember_key and value:
                    store.setValue(key, value)
                else:
                    store.remove(key)
                continue
            store.setValue(key, value)
    finally:
        store.endGroup()
    store.sync()
