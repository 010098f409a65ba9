"""The routing table: each model name a client may send, mapped to the groups of deployments to try.

A configured alias has its deployments, then one group per fallback (an alias's deployments, or a single
`provider/model`). Any other name (`provider/model`, or bare for the default provider) is one deployment,
made on first use and remembered (a bounded number of them: the names are the client's choice).
A deployment named twice (the same target with the same settings) is one object, so its health is shared.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import httpx

from helix.call import Target
from helix.config import Config, UpstreamConfig
from helix.errors import HelixError
from helix.providers.registry import Registry
from helix.routing.deployment import Deployment
from helix.routing.health import Health
from helix.routing_config import DeploymentConfig

AD_HOC_REMEMBERED = 512


@dataclass(frozen=True, slots=True)
class Group:
    name: str  # the alias, or the target's name
    deployments: tuple[Deployment, ...]
    strategy: str
    windows: bool = field(init=False)  # a deployment has a context window to check prompts against

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", any(d.max_input_tokens for d in self.deployments))


@dataclass(frozen=True, slots=True)
class Route:
    groups: tuple[Group, ...]

    def targets(self) -> list[Target]:
        """Every deployment's target, fallbacks' included, in the order they are tried: whoever may answer."""
        return [deployment.target for group in self.groups for deployment in group.deployments]

    def target_named(self, name: str) -> Target | None:
        """The target of the deployment `name` ("openai/gpt-4o-mini") on this route: who wrote a cached answer."""
        return next((target for target in self.targets() if target.name == name), None)


class RoutingTable:
    def __init__(self, config: Config, registry: Registry, previous: RoutingTable | None = None) -> None:
        self.settings = config.routing
        self._upstream = config.upstream
        self._registry = registry
        self._ad_hoc: OrderedDict[str, Route] = OrderedDict()
        self._kept = previous.deployments() if previous is not None else {}
        self._built: dict[str, Deployment] = {}
        groups: dict[str, Group] = {}
        for alias, spec in config.models.items():
            built = [self._deployment(alias, i, d) for i, d in enumerate(spec.all_deployments())]
            groups[alias] = Group(alias, tuple(built), spec.strategy or self.settings.strategy)
        self._routes: dict[str, Route] = {}
        for alias, spec in config.models.items():
            chain = [groups[alias]]
            for name in spec.fallbacks:
                chain.append(groups.get(name) or self._single(name, f"models.{alias}.fallbacks"))
            self._routes[alias] = Route(tuple(chain))
        self._kept = {}

    def route(self, model: str, target: Target) -> Route:
        """The groups to try for a request that named `model` and resolved to `target`."""
        found = self._routes.get(model)
        if found is not None:
            return found
        key = target.name
        found = self._ad_hoc.get(key)
        if found is None:
            deployment = self._named(target, DeploymentConfig(target=key))
            found = Route((Group(key, (deployment,), self.settings.strategy),))
            self._ad_hoc[key] = found
            if len(self._ad_hoc) > AD_HOC_REMEMBERED:
                self._ad_hoc.popitem(last=False)
        return found

    def cached_as(self, model: str, target: Target) -> str:
        """The name answers to a request for `model` are cached under: an alias's own ("alias:smart"), as any of its
        deployments or fallbacks may answer it, so a request naming one of those directly never gets another's answer;
        else the deployment's ("openai/gpt-4o-mini", however the request spelled it)."""
        return f"alias:{model}" if model in self._routes else target.name

    def configured(self) -> dict[str, Deployment]:
        """The deployments the config names (aliases' deployments and fallbacks), by name."""
        return dict(self._built)

    def models_of(self) -> dict[str, list[str]]:
        """For each configured deployment, the model aliases that send to it (as a deployment or a fallback)."""
        found: dict[str, list[str]] = {}
        for alias, route in self._routes.items():
            for group in route.groups:
                for deployment in group.deployments:
                    aliases = found.setdefault(deployment.name, [])
                    if alias not in aliases:
                        aliases.append(alias)
        return found

    def deployments(self) -> dict[str, Deployment]:
        """Every deployment by name: the configured ones and the remembered ad-hoc ones."""
        found = dict(self._built)
        for route in self._ad_hoc.values():
            for group in route.groups:
                for deployment in group.deployments:
                    found.setdefault(deployment.name, deployment)
        return found

    def _single(self, name: str, where: str) -> Group:
        target = self._resolve(name, where)
        deployment = self._named(target, DeploymentConfig(target=target.name))
        self._built.setdefault(deployment.name, deployment)
        return Group(name, (deployment,), self.settings.strategy)

    def _deployment(self, alias: str, index: int, spec: DeploymentConfig) -> Deployment:
        target = self._resolve(spec.target, f"models.{alias}.deployments[{index}]")
        own = spec.api_key or spec.base_url or spec.connect_timeout or spec.timeout
        if own:
            timeout = _timeout(spec, self._upstream)
            provider = self._registry.variant(
                target.provider.name, api_key=spec.api_key, base_url=spec.base_url, timeout=timeout
            )
            target = Target(provider, target.model)
        deployment = self._named(target, spec)
        self._built.setdefault(deployment.name, deployment)
        return deployment

    def _named(self, target: Target, spec: DeploymentConfig) -> Deployment:
        """The deployment of `target` with `spec`'s settings: one made before with the same settings, else a new one
        named after the target (with "#2", "#3"... where another's settings took that name). A `provider/model`
        named by a client or as a fallback has no settings of its own: an alias's deployment of the same target with
        its own key, address, timeouts or limits is not it."""
        signature = _signature(target, spec)
        name, n = target.name, 1
        while name in self._built and self._built[name].signature != signature:
            n += 1
            name = f"{target.name}#{n}"
        return self._built.get(name) or self._new(name, target, spec)

    def _new(self, name: str, target: Target, spec: DeploymentConfig) -> Deployment:
        signature = _signature(target, spec)
        old = self._kept.get(name)
        same = old is not None and old.signature == signature
        settings = self.settings
        deployment = Deployment(
            name=name,
            target=target,
            health=old.health
            if same and old is not None
            else Health(settings.cooldown_failures, settings.cooldown_window, settings.cooldown),
            weight=spec.weight,
            rpm=spec.rpm,
            tpm=spec.tpm,
            first_token_timeout=spec.first_token_timeout,
            timeout=spec.timeout,
            max_input_tokens=spec.max_input_tokens,
            signature=signature,
        )
        if same and old is not None:
            deployment.latency = old.latency
        if old is not None and _upstream(old.signature) == _upstream(signature):
            deployment.load = old.load  # the requests it sent before the reload are still at it
        return deployment

    def _resolve(self, name: str, where: str) -> Target:
        try:
            return self._registry.resolve(name)
        except HelixError as exc:
            raise ValueError(f"bad value for '{where}': {exc.message}") from None


def _signature(target: Target, spec: DeploymentConfig) -> tuple[object, ...]:
    return (
        target.name,  # resolved: "gpt-4o-mini" and "openai/gpt-4o-mini" are one target
        spec.weight,
        spec.api_key,
        spec.base_url,
        spec.rpm,
        spec.tpm,
        spec.connect_timeout,
        spec.first_token_timeout,
        spec.timeout,
        spec.max_input_tokens,
    )


def _upstream(signature: tuple[object, ...]) -> tuple[object, ...]:
    """Where a deployment's requests go, from its signature: the target, its key and its address ("#2" names follow
    the config's order, so a name alone may be another deployment's after a reload)."""
    return signature[0], signature[2], signature[3]


def _timeout(spec: DeploymentConfig, upstream: UpstreamConfig) -> httpx.Timeout | None:
    if spec.connect_timeout is None and spec.timeout is None:
        return None
    read = spec.timeout if spec.timeout is not None else upstream.read_timeout
    connect = spec.connect_timeout if spec.connect_timeout is not None else upstream.connect_timeout
    return httpx.Timeout(read, connect=connect)
