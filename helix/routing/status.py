"""Each configured deployment's state, for /health/ready and the dashboard (one reading for both)."""

from __future__ import annotations

import time
from typing import Any

from helix.routing.table import RoutingTable


def deployment_states(table: RoutingTable) -> dict[str, dict[str, Any]]:
    now, wall = time.monotonic(), time.time()
    states: dict[str, dict[str, Any]] = {}
    models = table.models_of()
    for name, deployment in table.configured().items():
        health = deployment.health
        state: dict[str, Any] = {
            "models": models.get(name, []),
            "state": health.state(now),
            "in_flight": deployment.in_flight,
            "latency_ms": round(deployment.latency.value * 1000, 1),
            "recent_failures": health.recent_failures(now),
            "cooldowns": health.cooldowns,
        }
        if health.until > now:
            state["back_in_seconds"] = round(health.until - now, 1)
            state["cooling_until"] = round(wall + health.until - now, 1)  # unix time, for people and dashboards
        states[name] = state
    return states
