"""Building a policy from the options the command line and the app share.

``tars run``, ``tars eval`` and ``tars app`` all take the same policy options (DESIGN.md,
The command line); :class:`PolicyOptions` holds them and :func:`make_policy` builds the
policy. :meth:`PolicyOptions.public` is what may be written to a trajectory or report:
never the API key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tars.models.base import Policy, PolicyError, load_policy


@dataclass
class PolicyOptions:
    """Policy choice and settings.

    ``policy``: ``lite`` | ``hf`` | ``openai`` (None: ``openai`` when ``endpoint`` is set,
    else ``lite``). ``model``: Hub id or local folder (hf), served model name (openai).
    ``adapter``: LoRA adapter folder (hf). ``endpoint``: base URL of an OpenAI-compatible
    server. ``api_key``: secret, never written anywhere. ``profile``: model profile name that
    overrides the one picked from the model name. ``max_new_tokens``: generation budget per
    answer (default: the profile's). ``timeout``: seconds per request to the endpoint
    (openai; default 60).
    """

    policy: str | None = None
    model: str | None = None
    adapter: str | None = None
    merge_adapter: bool = False
    endpoint: str | None = None
    api_key: str | None = None
    profile: str | None = None
    max_new_tokens: int | None = None
    timeout: float | None = None

    @property
    def resolved(self) -> str:
        """The policy name after applying the defaults."""
        if self.policy:
            return self.policy
        return "openai" if self.endpoint else "lite"

    def public(self) -> dict[str, Any]:
        """The settings without secrets, for meta.json, reports and logs."""
        data = asdict(self)
        data["policy"] = self.resolved
        data.pop("api_key")
        return {k: v for k, v in data.items() if v not in (None, False)}

    def check(self) -> None:
        """Raise :class:`PolicyError` for a combination that cannot work, before loading."""
        name = self.resolved
        if name == "hf" and not self.model:
            raise PolicyError("--policy hf needs --model (a Hub id such as ByteDance-Seed/UI-TARS-1.5-7B or a folder)")
        if name == "openai" and not self.endpoint:
            raise PolicyError("--policy openai needs --endpoint (e.g. http://localhost:8000/v1)")
        if self.timeout is not None and name != "openai":
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


def make_policy(options: PolicyOptions) -> Policy:
    """Build the policy the options describe.

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
                    "api_key": options.api_key, "profile": options.profile,
                    "max_tokens": options.max_new_tokens}
        if options.timeout is not None:
            settings["timeout"] = options.timeout
    return load_policy(name, **settings)
