"""The balancer and the circuit breaker on their own: strategies, capacity, cooldown order, and the cost of
a choice (microseconds)."""

from __future__ import annotations

import time
from collections import Counter

from helix.call import Target
from helix.config import Config
from helix.providers.registry import MissingKeyProvider
from helix.routing import balancer
from helix.routing.deployment import Deployment
from helix.routing.health import COOLING, HEALTHY, PROBING, Health


def deployment(name: str, **settings: object) -> Deployment:
    provider = MissingKeyProvider("openai", "openai", None)
    return Deployment(name=name, target=Target(provider, name), health=Health(2, 60.0, 10.0), **settings)  # type: ignore[arg-type]


def firsts(
    deployments: list[Deployment], strategy: str, n: int = 2000, now: float = 1000.0, **kw: object
) -> Counter[str]:
    return Counter(balancer.order(deployments, strategy, now, **kw)[0].name for _ in range(n))  # type: ignore[arg-type]


def test_weighted_follows_the_weights() -> None:
    counts = firsts([deployment("a", weight=1), deployment("b", weight=3)], "weighted", 4000)
    assert 2800 <= counts["b"] <= 3200


def test_least_busy_picks_the_fewest_in_flight() -> None:
    a, b, c = deployment("a"), deployment("b"), deployment("c")
    a.load.in_flight, b.load.in_flight, c.load.in_flight = 3, 1, 2
    assert [d.name for d in balancer.order([a, b, c], "least-busy", 0.0)] == ["b", "c", "a"]


def test_least_latency_prefers_the_lower_peak_ewma() -> None:
    fast, slow, slower = deployment("fast"), deployment("slow"), deployment("slower")
    fast.latency.observe(0.05, 1.0)
    slow.latency.observe(0.5, 1.0)
    slower.latency.observe(2.0, 1.0)
    counts = firsts([fast, slow, slower], "least-latency", 3000, now=1.0)
    # Power of two choices: the slowest never wins a pair; the fastest wins both pairs it is in (2/3).
    assert counts["slower"] == 0 and 1800 <= counts["fast"] <= 2200
    # A peak: one slow answer counts at once, fast ones pull it back down over time.
    fast.latency.observe(1.0, 2.0)
    assert fast.latency.value == 1.0
    fast.latency.observe(0.05, 30.0)
    assert fast.latency.value < 0.2


def test_a_slow_answer_fades_even_when_no_request_follows_it() -> None:
    """One slow answer shut a deployment out of least-latency for good: only a new sample pulled its estimate down, and
    none came, as no request went to it (faults round 22)."""
    once_slow, steady = deployment("once-slow"), deployment("steady")
    once_slow.latency.observe(1.5, 0.0)
    steady.latency.observe(0.2, 0.0)
    assert firsts([once_slow, steady], "least-latency", 200, now=1.0)["once-slow"] == 0
    assert firsts([once_slow, steady], "least-latency", 200, now=50.0)["once-slow"] == 0  # a request every few seconds
    steady.latency.observe(0.2, 65.0)  # the steady one keeps answering; the other gets nothing
    assert once_slow.latency.current(65.0) == 0 < steady.latency.current(65.0)  # stale: tried again, as if untried
    assert firsts([once_slow, steady], "least-latency", 200, now=65.0)["once-slow"] == 200
    once_slow.load.in_flight = 3  # a burst: it is tried again a request at a time, not with all of them
    assert firsts([once_slow, steady], "least-latency", 200, now=65.0)["once-slow"] == 0


def test_cost_picks_the_cheapest() -> None:
    prices = {"cheap": 1.0, "dear": 10.0, "unknown": float("inf")}
    found = [deployment("dear"), deployment("unknown"), deployment("cheap")]
    order = balancer.order(found, "cost", 0.0, lambda d: prices[d.name])
    assert [d.name for d in order] == ["cheap", "dear", "unknown"]


def test_cooling_and_full_deployments_go_last() -> None:
    a, b, c = deployment("a", weight=100), deployment("b", rpm=1), deployment("c")
    a.health.failed(0.0, rate_limited=True, retry_after=30.0)
    b.started(0.0)  # its one request this minute
    for _ in range(50):
        assert [d.name for d in balancer.order([a, b, c], "weighted", 1.0)] == ["c", "b", "a"]


def test_the_breaker_cools_after_n_failures_then_lets_one_probe_through() -> None:
    health = Health(threshold=2, window=10.0, cooldown=5.0)
    assert not health.failed(0.0) and health.state(0.0) == HEALTHY
    assert not health.failed(20.0)  # the first failure left the window
    assert health.failed(21.0) and health.state(21.0) == COOLING and not health.available(25.0)
    assert health.state(26.5) == PROBING and health.available(26.5)
    health.begin(26.5)
    assert not health.available(26.6)  # one probe at a time
    assert health.failed(27.0) and health.state(27.0) == COOLING  # a failed probe cools it again
    health.begin(33.0)
    health.succeeded()
    assert health.state(33.0) == HEALTHY and health.cooldowns == 2


def test_a_choice_takes_microseconds() -> None:
    group = [deployment(f"d{i}", weight=i + 1) for i in range(4)]
    for strategy in ("weighted", "least-latency", "least-busy"):
        rounds = []
        for _ in range(5):  # the best round: a loaded machine slows some, not the code
            began = time.perf_counter()
            for _ in range(2_000):
                balancer.order(group, strategy, 0.0)
            rounds.append((time.perf_counter() - began) / 2_000)
        assert min(rounds) < 50e-6, f"{strategy}: {min(rounds) * 1e6:.1f} us per choice"


def test_config_rejects_a_broken_route() -> None:
    from helix.config import ConfigError, load_config

    bad = {
        "models": {"m": {"target": "openai/x", "deployments": [{"target": "openai/y"}]}},
    }
    for overrides, message in (
        (bad, "either target or deployments"),
        ({"models": {"m": {"deployments": [{"target": "openai/y", "weight": 0}]}}}, "weight"),
        ({"routing": {"strategy": "fastest"}}, "routing.strategy"),
        ({"models": {"m": {"deployments": [{"target": "openai/y", "base_url": "ftp://x"}]}}}, "base_url"),
    ):
        try:
            load_config(None, env={}, overrides=overrides)
        except ConfigError as exc:
            assert message in str(exc), str(exc)
        else:
            raise AssertionError(f"{overrides} was accepted")
    assert isinstance(load_config(None, env={}, overrides={"routing": {"strategy": "cost"}}), Config)
