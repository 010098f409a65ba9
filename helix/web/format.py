"""How the dashboard writes numbers: money, counts, rates, durations, times."""

from __future__ import annotations

from helix.dates import local_time


def money(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return f"${value:,.6f}".rstrip("0")
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:,.4f}"


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
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"
