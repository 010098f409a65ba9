"""How Helix writes numbers for people, the same in the CLI and the dashboard: money, counts, rates, times."""

from __future__ import annotations

from helix.dates import local_time


def money(value: float | None) -> str:
    """`$0.003660` under a cent, `$0.0366` under a dollar, `$1,234.57` above: per-request costs are tiny."""
    if value is None:
        return "-"
    if value == 0:
        return "$0.00"
    if abs(value) < 0.01:
        return f"${value:,.6f}"
    return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def rate(part: int, whole: int) -> str:
    return "-" if not whole else f"{part / whole:.1%}"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f} ms" if value < 10 else f"{value:,.0f} ms"


def clock(ts: float | None) -> str:
    return local_time(ts, "%H:%M:%S")


def when(ts: float | None) -> str:
    return local_time(ts)


def size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"
