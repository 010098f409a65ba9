"""helix/tally.py exposes the same text as prometheus-client's own metrics fed the same observations."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from helix.tally import CounterTally, GaugeTally, HistogramTally, Tally

BOUNDS = (0.0001, 0.0005, 0.001, 0.01, 0.5, 1.0, 60.0)
LABELS = st.sampled_from([("openai",), ("anthropic",), ("groq",)])
AMOUNTS = st.floats(min_value=0, max_value=1e6, allow_nan=False)
OBSERVED = st.one_of(st.sampled_from(BOUNDS), st.floats(min_value=0, max_value=100, allow_nan=False))


def _text(registry: CollectorRegistry) -> str:
    """The exposition with each `_created` sample's value (a clock reading) blanked."""
    return re.sub(r"(_created\{?[^ ]*) \S+", r"\1 T", generate_latest(registry).decode())


@given(
    counts=st.lists(st.tuples(LABELS, AMOUNTS), max_size=20),
    unlabelled=st.lists(AMOUNTS, max_size=5),
    observations=st.lists(st.tuples(LABELS, OBSERVED), max_size=30),
    plain=st.lists(OBSERVED, max_size=10),
    in_flight=st.integers(min_value=0, max_value=50),
)
def test_the_exposition_is_prometheus_clients_own(
    counts: list[tuple[tuple[str], float]],
    unlabelled: list[float],
    observations: list[tuple[tuple[str], float]],
    plain: list[float],
    in_flight: int,
) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    counter = Counter("t_cost", "cost", ["provider"], registry=theirs)
    saved = Counter("t_saved", "saved", registry=theirs)
    latency = Histogram("t_latency", "latency", ["provider"], buckets=BOUNDS, registry=theirs)
    overhead = Histogram("t_overhead", "overhead", buckets=BOUNDS, registry=theirs)
    gauge = Gauge("t_in_flight", "in flight", registry=theirs)
    cost_t, saved_t = CounterTally("t_cost", "cost", ["provider"]), CounterTally("t_saved", "saved")
    latency_t = HistogramTally("t_latency", "latency", BOUNDS, ["provider"])
    overhead_t = HistogramTally("t_overhead", "overhead", BOUNDS)
    gauge_t = GaugeTally("t_in_flight", "in flight")
    ours.register(Tally(cost_t, saved_t, latency_t, overhead_t, gauge_t))

    for labels, amount in counts:
        counter.labels(*labels).inc(amount)
        cost_t.inc(labels, amount)
    for amount in unlabelled:
        saved.inc(amount)
        saved_t.inc((), amount)
    for labels, value in observations:
        latency.labels(*labels).observe(value)
        latency_t.observe(value, labels)
    for value in plain:
        overhead.observe(value)
        overhead_t.observe(value)
    gauge.set(in_flight)
    gauge_t.value = in_flight

    assert sorted(_text(ours).splitlines()) == sorted(_text(theirs).splitlines())
