"""The charts' ECharts options, built from a page's data (helix.web.data.Series and friends)."""

from __future__ import annotations

from typing import Any

from helix.store.queries import CACHE_RESULTS
from helix.web.data import Row, Series
from helix.web.widgets import COLORS, MONEY_JS, MS_JS

PERCENT_JS = "v => v == null ? '-' : v.toFixed(1) + '%'"
GRID = {"left": 8, "right": 8, "top": 36, "bottom": 4, "containLabel": True}
LEGEND = {"top": 0, "type": "scroll"}


def _base(labels: list[str], y_formatter: str) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", ":valueFormatter": y_formatter},
        "legend": LEGEND,
        "grid": GRID,
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "axisLabel": {":formatter": y_formatter}},
    }


def spend(s: Series) -> dict[str, Any]:
    """Spent and saved per bucket, stacked: the bar's height is what the traffic would have cost without Helix."""
    return {
        **_base(s.labels, MONEY_JS),
        "series": [
            {"name": "spent", "type": "bar", "stack": "cost", "data": s.spent, "itemStyle": {"color": COLORS["spent"]}},
            {
                "name": "saved by the cache",
                "type": "bar",
                "stack": "cost",
                "data": s.saved,
                "itemStyle": {"color": COLORS["saved"]},
            },
        ],
    }


def cache_results(s: Series) -> dict[str, Any]:
    """Each bucket's requests split by cache result, as shares adding to 100%."""
    totals = [sum(s.results[r][i] for r in CACHE_RESULTS) for i in range(len(s.labels))]
    options = _base(s.labels, PERCENT_JS)
    options["yAxis"]["max"] = 100
    options["series"] = [
        {
            "name": result,
            "type": "bar",
            "stack": "share",
            "data": [
                round(100 * n / total, 2) if total else None for n, total in zip(s.results[result], totals, strict=True)
            ],
            "itemStyle": {"color": COLORS[result]},
        }
        for result in CACHE_RESULTS
    ]
    return options


def latency(s: Series) -> dict[str, Any]:
    lines = (("latency p50", s.latency_p50), ("latency p95", s.latency_p95), ("Helix overhead p50", s.overhead_p50))
    return {
        **_base(s.labels, MS_JS),
        "series": [
            {"name": name, "type": "line", "data": data, "connectNulls": True, "symbolSize": 5} for name, data in lines
        ],
    }


def pii(s: Series) -> dict[str, Any]:
    options = _base(s.labels, "v => v")
    options["yAxis"]["minInterval"] = 1
    options["series"] = [
        {"name": entity, "type": "bar", "stack": "pii", "data": counts} for entity, counts in s.pii.items()
    ]
    return options


def top_models(rows: list[Row]) -> dict[str, Any]:
    """Horizontal bars, the biggest spender on top; a click opens the model's page."""
    rows = list(reversed(rows))
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", ":valueFormatter": MONEY_JS},
        "legend": LEGEND,
        "grid": GRID,
        "xAxis": {"type": "value", "axisLabel": {":formatter": MONEY_JS}},
        "yAxis": {
            "type": "category",
            "data": [r["grp"] for r in rows],
            "axisLabel": {"width": 140, "overflow": "truncate"},
        },
        "series": [
            {
                "name": "spent",
                "type": "bar",
                "stack": "m",
                "data": [r["cost"] for r in rows],
                "itemStyle": {"color": COLORS["spent"]},
            },
            {
                "name": "saved",
                "type": "bar",
                "stack": "m",
                "data": [r["saved"] for r in rows],
                "itemStyle": {"color": COLORS["saved"]},
            },
        ],
    }


def burn_down(labels: list[str], spent: list[float | None], budget: float | None) -> dict[str, Any]:
    """Spend so far in the budget period against the budget (and the pace that would end exactly on it)."""
    options = _base(labels, MONEY_JS)
    series: list[dict[str, Any]] = [
        {
            "name": "spent so far",
            "type": "line",
            "data": spent,
            "areaStyle": {},
            "showSymbol": False,
            "itemStyle": {"color": COLORS["spent"]},
        },
    ]
    if budget is not None:
        n = max(1, len(labels))
        series += [
            {
                "name": "budget",
                "type": "line",
                "data": [budget] * n,
                "showSymbol": False,
                "lineStyle": {"type": "dashed", "color": "#ef4444"},
                "itemStyle": {"color": "#ef4444"},
            },
            {
                "name": "even pace",
                "type": "line",
                "data": [round(budget * (i + 1) / n, 6) for i in range(n)],
                "showSymbol": False,
                "lineStyle": {"type": "dotted", "color": "#94a3b8"},
                "itemStyle": {"color": "#94a3b8"},
            },
        ]
    options["series"] = series
    return options
