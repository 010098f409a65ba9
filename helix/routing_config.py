"""The `[routing]` section and `[models.<alias>]` entries: how a model name maps to deployments.

Imports nothing of Helix's, so `helix.config` can embed these structs without a cycle.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

import msgspec

from helix.virtual_keys import MAX_MODEL_CHARS, plain_model_name

Strategy = Literal["weighted", "least-latency", "least-busy", "cost"]
STRATEGIES: tuple[str, ...] = ("weighted", "least-latency", "least-busy", "cost")


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class RoutingConfig(_Section):
    default_provider: str = "openai"
    # How a request picks among a model's healthy deployments.
    strategy: Strategy = "weighted"
    # Extra attempts per model group for retryable failures (connection errors, timeouts before the first
    # byte, 429, 500, 502, 503, 504, 529), with exponential backoff and jitter.
    retries: int = 2
    backoff: float = 0.2
    max_backoff: float = 5.0
    # A Retry-After longer than this is not waited for: the next deployment or fallback is tried instead.
    max_retry_wait: float = 5.0
    # Seconds a request may spend on attempts before its answer starts (x-helix-timeout overrides it).
    deadline: float = 600.0
    # A deployment failing `cooldown_failures` times within `cooldown_window` seconds (or answering 429)
    # is left out for `cooldown` seconds (longer if its Retry-After says so), then probed by one request.
    cooldown_failures: int = 3
    cooldown_window: float = 60.0
    cooldown: float = 30.0
    # Seconds to wait for the first streamed token (or the whole answer); unset: only [upstream] read_timeout.
    first_token_timeout: float | None = None
    # Skip a model (deployment or fallback) whose max_input_tokens is smaller than the prompt.
    context_window_fallback: bool = True


class DeploymentConfig(_Section):
    target: str
    weight: float = 1.0
    api_key: str | None = None
    base_url: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    tags: list[str] = []
    # Seconds: to connect, to the first token (or whole answer), and for the whole answer.
    connect_timeout: float | None = None
    first_token_timeout: float | None = None
    timeout: float | None = None
    max_input_tokens: int | None = None


class ModelAlias(_Section):
    target: str | None = None
    deployments: list[DeploymentConfig] = []
    # Tried in order once every deployment failed: aliases or provider/model names.
    fallbacks: list[str] = []
    strategy: Strategy | None = None
    max_input_tokens: int | None = None

    def all_deployments(self) -> list[DeploymentConfig]:
        if self.target is not None:
            return [DeploymentConfig(target=self.target, max_input_tokens=self.max_input_tokens)]
        return self.deployments

    @property
    def primary(self) -> str:
        """The first deployment's target: what the alias stands for in listings and limits."""
        return self.all_deployments()[0].target


def _check_name(where: str, model: str) -> None:
    if not plain_model_name(model):
        raise ValueError(f"bad value for {where}: a model name is up to {MAX_MODEL_CHARS} printable ASCII characters")


def check_provider_name(where: str, name: str) -> None:
    """A provider's name starts the model ids that route to it (`name/model`) and goes back in x-helix-provider: no
    '/' (the id would route elsewhere) and a plain name, as a model's is (else each request for it was a 500)."""
    if not name or "/" in name or not plain_model_name(name):
        raise ValueError(f"bad value for {where}: a provider's name is printable ASCII, without '/'")


def validate(routing: RoutingConfig, models: dict[str, ModelAlias]) -> None:
    """Raise ValueError (one line, naming the key) for a routing setting that cannot work."""
    if routing.retries < 0 or routing.retries > 10:
        raise ValueError("bad value for 'routing.retries': 0 to 10")
    for name in ("backoff", "max_backoff", "max_retry_wait", "cooldown_window", "cooldown"):
        if getattr(routing, name) < 0:
            raise ValueError(f"bad value for 'routing.{name}': cannot be negative")
    check_provider_name("'routing.default_provider'", routing.default_provider)
    if routing.deadline <= 0:
        raise ValueError("bad value for 'routing.deadline': must be positive")
    if routing.cooldown_failures < 1:
        raise ValueError("bad value for 'routing.cooldown_failures': at least 1")
    if routing.first_token_timeout is not None and routing.first_token_timeout <= 0:
        raise ValueError("bad value for 'routing.first_token_timeout': must be positive")
    for name, alias in models.items():
        _check_name(f"the alias {name!a} in [models]", name)  # else a request naming it is a 400 for its name
        where = f"models.{name}"
        if alias.target is not None and alias.deployments:
            raise ValueError(f"bad value for '{where}': give either target or deployments, not both")
        if alias.target is None and not alias.deployments:
            raise ValueError(f"missing config key '{where}.target': name a provider/model to route to")
        for i, deployment in enumerate(alias.all_deployments()):
            _check_deployment(name, f"{where}.deployments[{i}]" if alias.deployments else f"{where}", deployment)
        for fallback in alias.fallbacks:
            if not fallback or fallback == name:
                raise ValueError(f"bad value for '{where}.fallbacks': name other models (aliases or provider/model)")
            _check_name(f"'{where}.fallbacks'", fallback)


def _check_deployment(alias: str, where: str, deployment: DeploymentConfig) -> None:
    if not deployment.target or deployment.target == alias:
        raise ValueError(f"bad value for '{where}.target': name a provider/model to route to")
    _check_name(f"'{where}.target'", deployment.target)
    if deployment.weight <= 0:
        raise ValueError(f"bad value for '{where}.weight': must be positive")
    for name in ("rpm", "tpm", "max_input_tokens"):
        value = getattr(deployment, name)
        if value is not None and value < 1:
            raise ValueError(f"bad value for '{where}.{name}': at least 1 (leave it out for no limit)")
    for name in ("connect_timeout", "first_token_timeout", "timeout"):
        value = getattr(deployment, name)
        if value is not None and value <= 0:
            raise ValueError(f"bad value for '{where}.{name}': seconds, positive")
    if deployment.base_url is not None:
        check_base_url(f"{where}.base_url", deployment.base_url)


def check_base_url(where: str, url: str) -> None:
    """Refuse, at load, an upstream base URL every request would fail on (a port past 65535 and credentials in it were
    a 500 on each request; the others a confusing 502); the message never repeats the URL, which may hold a secret."""
    problem = _base_url_problem(url)
    if problem is not None:
        raise ValueError(f"bad value for '{where}': {problem}")


def _base_url_problem(url: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it holds spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing it is the check: a port past 65535, or not a number, raises
    except ValueError:
        return "it is not a URL (a port that is not one, or a bracket out of place)"
    if not parts.hostname:
        return "it names no host"
    if parts.username is not None or parts.password is not None:
        return "it holds credentials (user:password@): put the key in api_key, or a header in headers"
    if parts.query or parts.fragment:
        return "it has a query (?) or fragment (#), which the API's paths would follow: leave them out"
    return None
