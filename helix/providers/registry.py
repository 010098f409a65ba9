"""Provider presets, the providers this configuration can reach, and model-name routing.

A model is addressed as `provider/model` (`anthropic/claude-3-5-haiku-latest`), by an alias from
`[models.<alias>]`, or bare (`gpt-4o-mini`), which goes to `[routing] default_provider`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from helix.call import Call, Provider, Reply, Target
from helix.config import Config, ProviderConfig
from helix.errors import InvalidRequest, ProviderNotConfigured
from helix.pii.scrub import quoted
from helix.providers.anthropic import AnthropicProvider
from helix.providers.openai_compat import OpenAICompatProvider


@dataclass(frozen=True)
class Preset:
    kind: str
    base_url: str
    key_env: str | None
    local: bool = False


PRESETS: dict[str, Preset] = {
    "openai": Preset("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": Preset("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    "groq": Preset("openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "mistral": Preset("openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "together": Preset("openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "openrouter": Preset("openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "deepseek": Preset("openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "ollama": Preset("openai", "http://localhost:11434/v1", None, local=True),
}


class MissingKeyProvider:
    """A known provider with no API key: routable, so the user gets a clear error instead of a 404."""

    def __init__(self, name: str, kind: str, key_env: str | None) -> None:
        self.name, self.kind, self.local = name, kind, False
        self.forward: tuple[str, ...] = ()
        hint = f"set {key_env} or " if key_env else ""
        self._message = f"provider '{name}' has no API key: {hint}add api_key under [providers.{name}] in helix.toml"

    async def chat(self, call: Call) -> Reply:
        raise ProviderNotConfigured(self._message, provider=self.name)

    async def embeddings(self, call: Call) -> Reply:
        raise ProviderNotConfigured(self._message, provider=self.name)

    async def list_models(self) -> list[dict[str, Any]]:
        return []


def _build(
    name: str,
    settings: ProviderConfig,
    client: httpx.AsyncClient,
    env: dict[str, str],
    timeout: httpx.Timeout | None = None,
) -> Provider:
    preset = PRESETS.get(name)
    kind = settings.kind or (preset.kind if preset else "openai")
    base_url = settings.base_url or (preset.base_url if preset else None)
    if base_url is None:
        raise ValueError(f"providers.{name}: set base_url (it is not a built-in provider)")
    api_key = settings.api_key or (env.get(preset.key_env) if preset and preset.key_env else None)
    local = settings.local if settings.local is not None else (preset.local if preset else False)
    if not api_key and not local and settings.base_url is None:
        return MissingKeyProvider(name, kind, preset.key_env if preset else None)
    if kind == "anthropic":
        return AnthropicProvider(
            name, base_url, api_key, client, headers=settings.headers, forward=settings.forward_headers, timeout=timeout
        )
    return OpenAICompatProvider(
        name,
        base_url,
        api_key,
        client,
        headers=settings.headers,
        local=local,
        forward=settings.forward_headers,
        timeout=timeout,
    )


class Registry:
    def __init__(self, config: Config, client: httpx.AsyncClient, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        names = list(PRESETS) + [name for name in config.providers if name not in PRESETS]
        self.providers: dict[str, Provider] = {
            name: _build(name, config.providers.get(name, ProviderConfig()), client, env) for name in names
        }
        self._config, self._client, self._env = config, client, env
        self.aliases = {alias: spec.primary for alias, spec in config.models.items()}
        # The client headers any usable provider passes on: each request's are checked for PII against all of them (a
        # fallback sends its own list), read once here, as a reload builds a new registry.
        self.forwarded = frozenset(name for provider in self.usable() for name in provider.forward)
        self.default = config.routing.default_provider
        if self.default not in self.providers:
            raise ValueError(f"routing.default_provider: '{self.default}' is not a known or configured provider")

    def variant(
        self, name: str, *, api_key: str | None, base_url: str | None, timeout: httpx.Timeout | None
    ) -> Provider:
        """Provider `name` with a deployment's own key, base URL or timeouts (its other settings shared)."""
        settings = self._config.providers.get(name, ProviderConfig())
        changes = {"api_key": api_key, "base_url": base_url}
        settings = msgspec.structs.replace(settings, **{k: v for k, v in changes.items() if v is not None})
        return _build(name, settings, self._client, self._env, timeout)

    def usable(self) -> list[Provider]:
        return [p for p in self.providers.values() if not isinstance(p, MissingKeyProvider)]

    def resolve(self, model: str) -> Target:
        name = self.aliases.get(model, model)
        prefix, slash, rest = name.partition("/")
        if slash and prefix in self.providers:
            if not rest:
                raise InvalidRequest(f"model {quoted(model)} names no model after '{prefix}/'", param="model")
            return Target(self.providers[prefix], rest)
        if slash:
            known = ", ".join(sorted(self.providers))
            raise InvalidRequest(
                f"unknown provider {quoted(prefix)} in model {quoted(model)}: use one of {known}, "
                "or add [providers.<name>] with a base_url to helix.toml",
                param="model",
                code="unknown_provider",
            )
        return Target(self.providers[self.default], name)
