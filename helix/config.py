"""Typed configuration: defaults < helix.toml < HELIX_* environment variables.

Every key is documented in `helix.example.toml`. Unknown keys and bad values are rejected at start
with one line naming the key. String values may reference the environment as `${VAR}` (or
`${VAR:-default}`), which keeps secrets out of the file.

Environment overrides use a double underscore between levels: `HELIX_SERVER__PORT=8080`,
`HELIX_PROVIDERS__OPENAI__BASE_URL=...`. `HELIX_HOME` moves the data directory and `HELIX_CONFIG`
names the config file.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec
import platformdirs

from helix.dburl import Location, parse_location
from helix.durations import parse_duration
from helix.pii.config import PiiConfig
from helix.pii.config import validate as validate_pii
from helix.routing_config import ModelAlias, RoutingConfig, check_base_url, check_provider_name
from helix.routing_config import validate as validate_routing

CONFIG_FILENAME = "helix.toml"
DB_FILENAME = "helix.db"
ENV_PREFIX = "HELIX_"
_ENV_NESTING = "__"
_RESERVED_ENV = {"HELIX_HOME", "HELIX_CONFIG"}


RELOAD_REFUSED = "config reload refused, the running config stays"


class ConfigError(ValueError):
    """A configuration problem, described in one line."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 4000
    max_body_mb: float = 20.0
    max_header_kb: int = 32
    max_headers: int = 100
    client_read_timeout: float = 60.0
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_grace: float = 30.0
    cors_origins: list[str] = []

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


class StorageConfig(_Section):
    url: str | None = None  # sqlite:///path/helix.db (the default: a file in the data dir) or postgresql://...
    path: str | None = None  # the SQLite file, as before `url`; `url` wins when both are set


class UpstreamConfig(_Section):
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    max_connections: int = 1000


class ProviderConfig(_Section):
    kind: Literal["openai", "anthropic"] | None = None
    base_url: str | None = None
    api_key: str | None = None
    headers: dict[str, str] = {}
    local: bool | None = None
    # Client headers passed on to this provider (None: the kind's feature headers, see providers/forward.py).
    forward_headers: list[str] | None = None


class Price(_Section):
    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None  # a prompt token written to the provider's cache (Anthropic: 1.25 x input)
    cache_write_1h: float | None = None  # one written to it for an hour (Anthropic: 2 x input; default cache_write)


class CacheConfig(_Section):
    enabled: bool = True
    ttl: str = "7d"
    max_entries: int = 100_000
    max_mb: float = 1024.0
    max_entry_kb: int = 1024
    hot_mb: float = 64.0
    shared: bool = False
    max_temperature: float = 1.0
    cache_truncated: bool = False
    semantic: bool = True
    # Defaults chosen on held-out data other than the test split (dev, selection set, dev trace; the floor on blind
    # support set H, checked on set I); see docs/semantic-cache.md, "Choosing a model".
    threshold: float = 0.59
    judge_threshold: float = 0.84
    # A candidate whose cosine reaches judge_close_similarity needs only judge_close_threshold (None: off).
    judge_close_similarity: float | None = None
    judge_close_threshold: float = 0.61
    judge_model_path: str | None = None
    candidates: int = 5
    keep_wordings: bool = True
    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_model_path: str | None = None


Period = Literal["day", "week", "month", "total"]


class AuthConfig(_Section):
    admin_key: str | None = None
    require_keys: bool = False


class LimitsConfig(_Section):
    rpm: int | None = None
    tpm: int | None = None
    window_seconds: float = 60.0
    user_budget: float | None = None
    user_budget_period: Period = "day"
    output_tokens_estimate: int = 4096


class AlertsConfig(_Section):
    webhook_url: str | None = None
    thresholds: list[int] = msgspec.field(default_factory=lambda: [80, 100])
    headers: dict[str, str] = {}
    retries: int = 3
    timeout: float = 5.0


class PrivacyConfig(_Section):
    # End-user ids (`user`, x-helix-user) at rest: "hashed" (u_ + 16 hex, keyed) or "plain" (as sent).
    store_user: Literal["hashed", "plain"] = "hashed"
    # The key of that hash; unset: a random key kept in the database.
    user_hash_key: str | None = None


class DashboardConfig(_Section):
    enabled: bool = True
    refresh_seconds: float = 2.0
    session_ttl: str = "12h"


class Config(_Section):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    upstream: UpstreamConfig = msgspec.field(default_factory=UpstreamConfig)
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)
    providers: dict[str, ProviderConfig] = {}
    models: dict[str, ModelAlias] = {}
    pricing: dict[str, Price] = {}
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)
    cache: CacheConfig = msgspec.field(default_factory=CacheConfig)
    pii: PiiConfig = msgspec.field(default_factory=PiiConfig)
    privacy: PrivacyConfig = msgspec.field(default_factory=PrivacyConfig)
    dashboard: DashboardConfig = msgspec.field(default_factory=DashboardConfig)

    def stored_as(self, model: str) -> list[str]:
        """The models whose cache entries a request for `model` may have written: itself, or an alias's deployments
        and fallbacks (each may have answered it; entries are stored as the deployment that wrote them)."""
        names, seen, pending = [], set(), [model]
        while pending:
            name = pending.pop(0)
            if name in seen:
                continue
            seen.add(name)
            alias = self.models.get(name)
            if alias is None:
                names.append(name)
            else:
                pending += [deployment.target for deployment in alias.all_deployments()] + alias.fallbacks
        return names

    def db_path(self) -> Location:
        """The database: a SQLite file (`Path`) or a shared PostgreSQL database (`PostgresUrl`)."""
        if self.storage.url:
            return parse_location(self.storage.url)
        if self.storage.path:
            return Path(self.storage.path).expanduser()
        return data_dir() / DB_FILENAME


_NAMED_SECTIONS: dict[str, type[msgspec.Struct]] = {
    "providers": ProviderConfig,
    "models": ModelAlias,
    "pricing": Price,
}


def data_dir() -> Path:
    home = os.environ.get("HELIX_HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir("helix", appauthor=False))


def default_config_path() -> Path | None:
    """The config file used when none is named: $HELIX_CONFIG, ./helix.toml, then the data dir's."""
    named = os.environ.get("HELIX_CONFIG")
    if named:
        return Path(named).expanduser()
    for candidate in (Path.cwd() / CONFIG_FILENAME, data_dir() / CONFIG_FILENAME):
        if candidate.is_file():
            return candidate
    return None


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(value: Any, path: str, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{path}.{k}" if path else k, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: environment variable {name} is not set (referenced as ${{{name}}})")

    return _VAR.sub(substitute, value)


def _env_overrides(env: dict[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in _RESERVED_ENV:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split(_ENV_NESTING)
        if len(parts) < 2 or not all(parts):
            continue
        node = overrides
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return overrides


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: msgspec.ValidationError, prefix: str = "") -> str:
    # msgspec says "... - at `$.server.port`"; turn the JSON path into the TOML key the user wrote.
    text = str(error)
    message, _, where = text.partition(" - at `")
    key = ".".join(p for p in (prefix, where.rstrip("`").removeprefix("$").lstrip(".")) if p) or "(top level)"
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    if unknown:
        full = f"{key}.{unknown.group(1)}" if key != "(top level)" else unknown.group(1)
        return f"unknown config key '{full}': check the spelling against helix.example.toml"
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    if missing:
        full = f"{key}.{missing.group(1)}" if key != "(top level)" else missing.group(1)
        return f"missing config key '{full}'"
    return f"bad value for '{key}': {message}"


def load_config(
    path: str | Path | None = None,
    *,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Load defaults < file < environment < explicit overrides (CLI flags)."""
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    file = Path(path).expanduser() if path else default_config_path()
    if path and file and file.is_dir():
        raise ConfigError(f"config file {file} is a folder: name the helix.toml in it")
    if path and not (file and file.is_file()):
        raise ConfigError(f"config file {file} does not exist (run 'helix init' to create one)")
    if file:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: invalid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}): a TOML file is UTF-8") from None
        except OSError as exc:  # a folder, a file it may not read
            raise ConfigError(f"{file}: cannot read it ({exc.strerror or exc})") from None
        data = _interpolate(data, "", env)
    data = _merge(data, _env_overrides(env))
    if overrides:
        data = _merge(data, overrides)
    try:
        _check_named_entries(data)
        try:
            config = msgspec.convert(data, Config, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigError(_describe(exc)) from None
        _check(config)
    except ConfigError as exc:
        raise ConfigError(_with_its_variable(str(exc), env)) from None
    return config


def _with_its_variable(message: str, env: dict[str, str]) -> str:
    """The message, naming the environment variable that set the key it names: the file may be fine."""
    key = re.search(r"'([\w.]+)'", message)
    variable = ENV_PREFIX + key.group(1).upper().replace(".", _ENV_NESTING) if key else ""
    return f"{message} (set by the environment variable {variable})" if variable in env else message


def _check_named_entries(data: dict[str, Any]) -> None:
    """Validate `[providers.<name>]`-style entries one by one: msgspec's paths do not name dict keys."""
    for section, struct in _NAMED_SECTIONS.items():
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        for name, value in entries.items():
            try:
                msgspec.convert(value, struct, strict=False)
            except msgspec.ValidationError as exc:
                raise ConfigError(_describe(exc, f"{section}.{name}")) from None


_ORIGIN = re.compile(r"https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")


def _check(config: Config) -> None:
    _check_finite(msgspec.to_builtins(config), "")
    _check_access(config)
    if not 0 < config.server.port < 65536:
        raise ConfigError(f"bad value for 'server.port': {config.server.port} is not a TCP port")
    if config.server.shutdown_grace < 0:
        raise ConfigError("bad value for 'server.shutdown_grace': seconds, not negative")
    if config.server.client_read_timeout <= 0:
        raise ConfigError("bad value for 'server.client_read_timeout': seconds, more than 0")
    if config.server.max_body_mb <= 0:
        raise ConfigError("bad value for 'server.max_body_mb': must be positive")
    if not (1 <= config.server.max_header_kb <= 1024 and 8 <= config.server.max_headers <= 10_000):
        raise ConfigError("bad value in [server]: max_header_kb is 1 to 1024, max_headers 8 to 10000")
    for origin in config.server.cors_origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                f"bad value in 'server.cors_origins': {origin!r} is not an origin (scheme://host or"
                " scheme://host:port in lower case, as a browser sends it: no path, no trailing slash), or '*'"
            )
    try:
        validate_pii(config.pii)
        config.db_path()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    key = config.privacy.user_hash_key
    if key is not None and len(key) < 16:
        raise ConfigError("bad value for 'privacy.user_hash_key': use at least 16 characters (or leave it unset)")
    try:
        parse_duration(config.cache.ttl)
    except ValueError as exc:
        raise ConfigError(f"bad value for 'cache.ttl': {exc}") from None
    try:
        parse_duration(config.dashboard.session_ttl)
    except ValueError as exc:
        raise ConfigError(f"bad value for 'dashboard.session_ttl': {exc}") from None
    if config.dashboard.refresh_seconds < 0.5:
        raise ConfigError("bad value for 'dashboard.refresh_seconds': at least 0.5 seconds")
    if not 0.0 < config.cache.threshold <= 1.0:
        raise ConfigError("bad value for 'cache.threshold': a cosine similarity in (0, 1]")
    if not 0.0 < config.cache.judge_threshold <= 1.0:
        raise ConfigError("bad value for 'cache.judge_threshold': a probability in (0, 1]")
    if not 0.0 < config.cache.judge_close_threshold <= 1.0:
        raise ConfigError("bad value for 'cache.judge_close_threshold': a probability in (0, 1]")
    if config.cache.judge_close_similarity is not None and not 0.0 < config.cache.judge_close_similarity <= 1.0:
        raise ConfigError("bad value for 'cache.judge_close_similarity': a cosine similarity in (0, 1]")
    if (
        config.cache.max_entries < 1
        or config.cache.max_mb <= 0
        or config.cache.candidates < 1
        or config.cache.max_entry_kb < 1
    ):
        raise ConfigError("bad value in [cache]: max_entries, max_mb, max_entry_kb and candidates must be positive")
    if config.cache.hot_mb < 0:
        raise ConfigError("bad value for 'cache.hot_mb': megabytes, not negative (0: no answers kept in memory)")
    upstream = config.upstream
    if upstream.connect_timeout <= 0 or upstream.read_timeout <= 0 or upstream.max_connections < 1:
        raise ConfigError("bad value in [upstream]: connect_timeout, read_timeout and max_connections must be positive")
    try:
        validate_routing(config.routing, config.models)
        for name, provider in config.providers.items():
            check_provider_name(f"the provider {name!a} in [providers]", name)
            if provider.base_url is not None:
                check_base_url(f"providers.{name}.base_url", provider.base_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for name, price in config.pricing.items():
        optional = (price.cached_input, price.cache_write, price.cache_write_1h)
        if min(price.input, price.output, *(p or 0 for p in optional)) < 0:
            raise ConfigError(f"bad value for 'pricing.{name}': prices cannot be negative")


def _visible_ascii(value: str) -> bool:
    """ASCII letters, digits and punctuation only: what a header carries as sent (HTTP reads it as latin-1 and trims
    the spaces around it, so a secret beyond ASCII, or with spaces, could never match or be sent)."""
    return value.isascii() and value.isprintable() and " " not in value


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _check_finite(value: Any, where: str) -> None:
    """No nan or inf anywhere: every comparison with nan is false, so a price of nan charged nothing against any budget
    and a budget of nan was none; a price of inf refused every request."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"bad value for {where!r}: {value} is not a number Helix can use")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, f"{where}[{index}]")


def _check_header_secrets(config: Config) -> None:
    """Secrets compared with a client's header (auth.admin_key) or sent in one (a provider's api_key, the headers
    of a provider or of the alerts' webhook): refused at load when HTTP cannot carry them, not a request that can
    never authenticate or a 500 on each one."""
    if config.auth.admin_key and not _visible_ascii(config.auth.admin_key):
        raise ConfigError(
            "bad value for 'auth.admin_key': use ASCII letters, digits and punctuation only, no spaces (a header"
            " carries nothing else, so this key could never match; helix init generates one)"
        )
    for name, provider in config.providers.items():
        if provider.api_key and not _visible_ascii(provider.api_key):
            raise ConfigError(
                f"bad value for 'providers.{name}.api_key': ASCII letters, digits and punctuation only, no spaces"
                " (it is sent in a header)"
            )
    places = [(f"providers.{name}.headers", p.headers) for name, p in config.providers.items()]
    for where, headers in [*places, ("alerts.headers", config.alerts.headers)]:
        for header, value in headers.items():
            if not _HEADER_NAME.fullmatch(header):
                raise ConfigError(f"bad value for '{where}': '{header}' is not an HTTP header name")
            if not (value.isascii() and value.isprintable()) or value != value.strip():
                raise ConfigError(
                    f"bad value for '{where}.{header}': printable ASCII only, no spaces around it (a header's value)"
                )


def _check_access(config: Config) -> None:
    """[auth], [limits] and [alerts]: limits positive, thresholds percentages, the webhook an http(s) URL."""
    limits = config.limits
    for name in ("rpm", "tpm"):
        value = getattr(limits, name)
        if value is not None and value < 1:
            raise ConfigError(f"bad value for 'limits.{name}': must be at least 1 (leave it out for no limit)")
    if limits.window_seconds <= 0:
        raise ConfigError("bad value for 'limits.window_seconds': must be positive")
    if limits.user_budget is not None and limits.user_budget < 0:
        raise ConfigError("bad value for 'limits.user_budget': budgets cannot be negative")
    if limits.output_tokens_estimate < 1:
        raise ConfigError("bad value for 'limits.output_tokens_estimate': must be at least 1")
    if config.auth.admin_key and len(config.auth.admin_key) < 16:
        raise ConfigError("bad value for 'auth.admin_key': use at least 16 characters (helix init generates one)")
    _check_header_secrets(config)
    alerts = config.alerts
    if alerts.webhook_url and not alerts.webhook_url.startswith(("http://", "https://")):
        raise ConfigError("bad value for 'alerts.webhook_url': must start with http:// or https://")
    if any(not 0 < t <= 1000 for t in alerts.thresholds):
        raise ConfigError("bad value for 'alerts.thresholds': percentages of the budget, like [80, 100]")
    if alerts.retries < 0 or alerts.timeout <= 0:
        raise ConfigError("bad value in [alerts]: retries cannot be negative and timeout must be positive")
