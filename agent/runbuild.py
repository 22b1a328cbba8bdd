"""The one run builder: the options every front end shares -> policy, operator, agent, meta.

``tars run``, the app's worker and the eval worker all describe a run with one
:class:`RunOptions` (policy options + loop settings) and build it here, so a setting honoured by
one front end is honoured by all and ``meta.json``'s ``settings`` are the same for the same
options (:meth:`RunOptions.settings`). :class:`PolicyOptions` holds the policy part and
:func:`make_policy` builds the policy; :meth:`PolicyOptions.public` is what may be written to a
trajectory or report: never the API key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable

from pydantic import SecretStr

from tars.models.base import Policy, PolicyError, load_policy

if TYPE_CHECKING:
    from tars.actions.space import Action
    from tars.agent.hooks import Hook
    from tars.agent.loop import Agent, AgentConfig
    from tars.desktop.operator import Operator


@dataclass
class PolicyOptions:
    """Policy choice and settings.

    ``policy``: ``lite`` | ``hf`` | ``openai`` (None: ``openai`` when ``endpoint`` is set,
    else ``lite``). ``model``: Hub id or local folder (hf), served model name (openai).
    ``adapter``: LoRA adapter folder (hf; implies ``hf`` when no policy is named; with a
    ``tars finetune`` manifest, ``model`` may be left out). ``endpoint``: base URL of an OpenAI-compatible
    server. ``api_key``: secret, never written anywhere. ``profile``: model profile name that
    overrides the one picked from the model name. ``max_new_tokens``: generation budget per
    answer (default: the profile's). ``timeout``: seconds per request to the endpoint
    (openai; default 60).

    Planner + grounder mode (:mod:`tars.models.planner`): ``planner_endpoint`` (an
    OpenAI-compatible URL) or ``planner_model`` alone (a local hf model) turns it on; the
    planner decides each step in words and the policy above (``lite``, ``hf``, ``openai``:
    the grounder) finds each element. ``planner_model``: served name / Hub id or folder.
    ``planner_profile``: the planner's image budget (default ``qwen2.5-vl``; a family profile
    with its own conversation cannot plan). The API key is shared with the grounder.
    """

    policy: str | None = None
    model: str | None = None
    adapter: str | None = None
    merge_adapter: bool = False
    endpoint: str | None = None
    api_key: SecretStr | str | None = None
    profile: str | None = None
    max_new_tokens: int | None = None
    timeout: float | None = None
    planner_endpoint: str | None = None
    planner_model: str | None = None
    planner_profile: str | None = None

    @property
    def planned(self) -> bool:
        """True in the planner + grounder mode."""
        return bool(self.planner_endpoint or self.planner_model)

    def __post_init__(self) -> None:
        # the key is held as a secret value: printing, repr() and asdict() show "**********"
        if isinstance(self.api_key, str):
            self.api_key = SecretStr(self.api_key) if self.api_key else None

    @property
    def secret_key(self) -> str | None:
        """The API key in clear, for the one place that sends it (the endpoint client)."""
        if isinstance(self.api_key, SecretStr):
            return self.api_key.get_secret_value()
        return self.api_key

    def to_json(self) -> dict[str, Any]:
        """Every field with the key in clear: for the pipe to an eval worker, never a file."""
        data = asdict(self)
        data["api_key"] = self.secret_key
        return data

    @property
    def resolved(self) -> str:
        """The policy name after applying the defaults."""
        if self.policy:
            return self.policy
        if self.adapter and not self.endpoint:
            return "hf"  # an adapter is for a local checkpoint
        return "openai" if self.endpoint else "lite"

    def public(self) -> dict[str, Any]:
        """The settings without secrets, for meta.json, reports and logs."""
        from tars.models.secrets import redact_url

        data = asdict(self)
        data["policy"] = self.resolved
        data.pop("api_key")
        if data.get("endpoint"):  # a key in the URL (user:KEY@, ?api-key=) is a secret too
            data["endpoint"] = redact_url(data["endpoint"])
        return {k: v for k, v in data.items() if v not in (None, False)}

    def check(self) -> None:
        """Raise :class:`PolicyError` for a combination that cannot work, before loading."""
        if self.planner_profile and not self.planned:
            raise PolicyError("--planner-profile needs --planner-endpoint or --planner-model")
        if self.planner_profile:
            from tars.models.families import is_family
            from tars.models.profiles import get_profile

            try:
                planner_profile = get_profile(None, override=self.planner_profile)
            except ValueError as exc:
                raise PolicyError(str(exc)) from exc
            if is_family(planner_profile):
                raise PolicyError(f"--planner-profile {self.planner_profile} has its own conversation and "
                                  "cannot speak the planner language; use ui-tars-1.5, qwen2.5-vl or qwen2-vl")
        name = self.resolved
        if name == "hf" and not self.model and not _tuned_base(self.adapter):
            raise PolicyError("--policy hf needs --model (a Hub id such as ByteDance-Seed/UI-TARS-1.5-7B or a folder)")
        if name == "openai" and not self.endpoint:
            raise PolicyError("--policy openai needs --endpoint (e.g. http://localhost:8000/v1)")
        if self.timeout is not None and name != "openai" and not self.planner_endpoint:
            raise PolicyError("--timeout works with --endpoint (the openai policy) only")
        if self.adapter and name != "hf":
            raise PolicyError("--adapter works with --policy hf only")
        if name == "lite":
            # lite is a fixed program: say so instead of silently ignoring model settings
            given = [flag for flag, value in (("--model", self.model), ("--endpoint", self.endpoint),
                     ("--profile", self.profile), ("--max-new-tokens", self.max_new_tokens))
                     if value]
            if given:
                raise PolicyError(f"{', '.join(given)} do(es) nothing with --policy lite; "
                                  "use --policy hf or --endpoint for a model")


def _make_planner(options: PolicyOptions) -> Policy:
    profile = options.planner_profile or "qwen2.5-vl"
    if options.planner_endpoint:
        return load_policy("openai", endpoint=options.planner_endpoint, model=options.planner_model,
                           api_key=options.secret_key, profile=profile,
                           **({"timeout": options.timeout} if options.timeout is not None else {}))
    return load_policy("hf", model=options.planner_model, profile=profile)


def tuned_manifest(adapter: str | None) -> dict[str, Any]:
    """The manifest of a ``tars finetune`` adapter folder (:mod:`tars.models.adapters`),
    or ``{}`` for no adapter, one made elsewhere, or an unreadable manifest (the hf policy
    then says what is wrong with it). Its ``base_model.source`` stands in for a missing
    ``--model``; its ``harness`` (``history_images``, ``language``) gives a run's defaults."""
    if not adapter:
        return {}
    from tars.models.adapters import ManifestError, read_manifest

    try:
        return read_manifest(adapter) or {}
    except ManifestError:
        return {}


def _tuned_base(adapter: str | None) -> str | None:
    return (tuned_manifest(adapter).get("base_model") or {}).get("source")


def make_policy(options: PolicyOptions) -> Policy:
    """Build the policy the options describe.

    In the planner + grounder mode (:attr:`PolicyOptions.planned`) the policy built from the
    main options is the grounder, wrapped with the planner in a
    :class:`~tars.models.planner.PlannerGrounderPolicy`.

    Raises:
        PolicyError: bad combination, missing model, missing extra, unreachable endpoint.
    """
    options.check()
    name = options.resolved
    settings: dict[str, Any] = {}
    if name == "hf":
        settings = {"model": options.model, "adapter": options.adapter,
                    "merge_adapter": options.merge_adapter, "profile": options.profile,
                    "max_new_tokens": options.max_new_tokens}
    elif name == "openai":
        settings = {"endpoint": options.endpoint, "model": options.model,
                    "api_key": options.secret_key, "profile": options.profile,
                    "max_tokens": options.max_new_tokens}
        if options.timeout is not None:
            settings["timeout"] = options.timeout
    grounder = load_policy(name, **settings)
    if not options.planned:
        return grounder
    from tars.models.planner import PlannerGrounderPolicy

    try:
        planner = _make_planner(options)
    except BaseException:
        grounder.close()
        raise
    return PlannerGrounderPolicy(planner, grounder)


@dataclass
class RunOptions:
    """One run as every front end describes it: the policy options and the loop's settings.

    ``policy``: :class:`PolicyOptions`. ``max_steps``: step limit. ``max_seconds``: wall-time
    limit in seconds (None: none). ``history_images``: screenshots per prompt. ``language``:
    language of the model's thoughts (None: the harness's, English for ``tars``, Chinese for
    ``osworld``). ``monitor``: mss monitor index (1 = primary).
    ``dry_run``: look and think, perform nothing. ``confirm_risky``: ask before risky actions.
    ``task``: prompt template, ``computer`` | ``mobile``. ``type_interval``: seconds between
    typed characters (0.004; slow programs such as galculator may drop shifted keys typed
    fast, issue 17).
    ``harness``: the episode rules,
    ``tars`` | ``osworld`` (:mod:`tars.agent.harness`). ``sleep_after_execution``: seconds of
    the osworld harness's fixed sleep after each action (None: OSWorld's 3.0).
    """

    policy: PolicyOptions = field(default_factory=PolicyOptions)
    max_steps: int = 50
    max_seconds: float | None = None
    history_images: int = 5
    language: str | None = None
    monitor: int = 1
    dry_run: bool = False
    confirm_risky: bool = False
    allow_risky: bool = False
    task: str = "computer"
    type_interval: float = 0.004
    harness: str = "tars"
    sleep_after_execution: float | None = None

    def check(self) -> None:
        """Raise :class:`PolicyError` for a harness that cannot run (unknown name), before
        anything loads. Whether OSWorld has a runner for the model's family is known when the
        profile is (the run ends at once with the reason otherwise)."""
        from tars.agent.harness import HARNESSES

        if self.harness not in HARNESSES:
            raise PolicyError(f"unknown harness {self.harness!r}; use one of {', '.join(HARNESSES)}")
        if self.sleep_after_execution is not None and self.sleep_after_execution < 0:
            raise PolicyError("--sleep-after-execution must be at least 0")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunOptions":
        """Inverse of :meth:`to_json` (the eval worker's spec). Raises TypeError on an unknown
        field."""
        data = dict(data)
        policy = PolicyOptions(**(data.pop("policy", None) or {}))
        return cls(policy=policy, **data)

    def to_json(self) -> dict[str, Any]:
        """Every field, the API key included: for a pipe to a worker, never for a file."""
        return {f.name: (self.policy.to_json() if f.name == "policy" else getattr(self, f.name))
                for f in fields(self)}

    def settings(self) -> dict[str, Any]:
        """The ``settings`` of meta.json: the public policy options and the loop's settings,
        the same for every front end (no secrets)."""
        return {**self.policy.public(), "max_steps": self.max_steps,
                "max_seconds": self.max_seconds, "history_images": self.history_images,
                "language": self.language, "monitor": self.monitor, "dry_run": self.dry_run,
                "confirm_risky": self.confirm_risky, "allow_risky": self.allow_risky, "task": self.task, "type_interval": self.type_interval,
                "harness": self.harness, "sleep_after_execution": self.sleep_after_execution}

    def agent_config(self, confirm: "Callable[[Action, str], bool] | None" = None,
                     extra: dict[str, Any] | None = None) -> "AgentConfig":
        """The :class:`~tars.agent.loop.AgentConfig` of these options. ``confirm``: asked before
        a risky action (:func:`tars.agent.guard.is_risky`); without one (headless runs, evals)
        risky actions are refused with the reason fed back to the model, unless
        :attr:`allow_risky`. ``extra``: front-end facts added to meta.json's settings
        (``front_end``, ``task_id``)."""
        from tars.agent.guard import refuse_risky
        from tars.agent.loop import AgentConfig

        ask = None if self.allow_risky else (confirm or refuse_risky)

        return AgentConfig(max_steps=self.max_steps, max_seconds=self.max_seconds,
                           history_images=self.history_images, language=self.language,
                           task=self.task, settings={**self.settings(), **(extra or {})},
                           confirm=ask, harness=self.harness,
                           sleep_after_execution=self.sleep_after_execution)


def make_operator(options: RunOptions, images: list[str] | None = None,
                  allow_blank: bool = False) -> "Operator":
    """The operator the options describe: a :class:`~tars.desktop.local.LocalOperator` on
    ``options.monitor``, or a :class:`~tars.desktop.dryrun.DryRunOperator` for a dry run
    (serving ``images`` when given). A live screen is looked at once here, so a screen that
    cannot be seen (no such monitor, no X server, a blank frame) fails before any model is
    asked. ``allow_blank``: accept one-colour frames (a task display may show nothing).

    Raises:
        ValueError: ``images`` without ``dry_run``.
        tars.desktop.operator.OperatorError: no display, no such monitor, blank screen.
    """
    if images and not options.dry_run:
        raise ValueError("--image works with --dry-run only")
    op: Operator
    if options.dry_run:
        from tars.desktop.dryrun import DryRunOperator

        op = DryRunOperator(images=list(images) if images else None, monitor=options.monitor,
                            allow_blank=allow_blank)
    else:
        from tars.desktop.local import LocalOperator

        op = LocalOperator(monitor=options.monitor, allow_blank=allow_blank, type_interval=options.type_interval)
    if op.live:
        try:
            op.observe()
        except Exception:
            op.close()
            raise
    return op


def build_agent(options: RunOptions, policy: Policy, operator: "Operator",
                hooks: "list[Hook]", confirm: "Callable[[Action, str], bool] | None" = None,
                extra: dict[str, Any] | None = None) -> "Agent":
    """The :class:`~tars.agent.loop.Agent` of one run: ``policy`` and ``operator`` built from
    ``options`` (:func:`make_policy`, :func:`make_operator`), the front end's ``hooks``, and
    the config of :meth:`RunOptions.agent_config`."""
    from tars.agent.loop import Agent

    return Agent(policy, operator, options.agent_config(confirm, extra), hooks)
