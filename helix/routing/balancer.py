"""Which deployment of a model takes a request, and which to try next if it fails.

`order()` puts the deployments that can take traffic now (healthy or due a probe, under their rpm/tpm)
first, the one the strategy picks at their head; deployments over capacity next; cooling ones last,
soonest back first. Strategies:
  weighted        random, in proportion to `weight` (the default)
  least-latency   power of two choices: the lower peak-EWMA latency x (in flight + 1) of two random picks
  least-busy      fewest requests in flight
  cost            cheapest price per token first
Lists are a handful of deployments: a choice costs microseconds and takes no lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from helix.routing.deployment import Deployment

PriceOf = Callable[[Deployment], float]
_random = random.random


def order(
    deployments: Sequence[Deployment], strategy: str, now: float, price_of: PriceOf | None = None
) -> list[Deployment]:
    if len(deployments) == 1:
        return list(deployments)
    ready: list[Deployment] = []
    full: list[Deployment] = []
    cooling: list[Deployment] = []
    for deployment in deployments:
        if not deployment.health.available(now):
            cooling.append(deployment)
        elif deployment.has_room(now):
            ready.append(deployment)
        else:
            full.append(deployment)
    cooling.sort(key=lambda d: d.health.until)
    return _rank(ready, strategy, now, price_of) + _rank(full, strategy, now, price_of) + cooling


def _rank(deployments: list[Deployment], strategy: str, now: float, price_of: PriceOf | None) -> list[Deployment]:
    if len(deployments) < 2:
        return deployments
    if strategy == "least-latency":
        first, second = random.sample(deployments, 2)

        def cost(d: Deployment) -> float:
            return d.latency.cost(d.in_flight, now)

        pick = first if cost(first) <= cost(second) else second
        return [pick, *sorted((d for d in deployments if d is not pick), key=cost)]
    if strategy == "least-busy":
        least = min(d.in_flight for d in deployments)
        pick = _weighted([d for d in deployments if d.in_flight == least])
        return [pick, *sorted((d for d in deployments if d is not pick), key=lambda d: d.in_flight)]
    if strategy == "cost" and price_of is not None:
        cheapest = min(price_of(d) for d in deployments)
        pick = _weighted([d for d in deployments if price_of(d) == cheapest])
        return [pick, *sorted((d for d in deployments if d is not pick), key=price_of)]
    pick = _weighted(deployments)
    return [pick, *sorted((d for d in deployments if d is not pick), key=lambda d: -d.weight)]


def _weighted(deployments: list[Deployment]) -> Deployment:
    if len(deployments) == 1:
        return deployments[0]
    point = _random() * sum(d.weight for d in deployments)
    for deployment in deployments:
        point -= deployment.weight
        if point < 0:
            return deployment
    return deployments[-1]
