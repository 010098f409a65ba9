"""Token buckets for requests/minute and tokens/minute, and OpenAI's rate-limit header values.

A bucket holds `limit` units and refills continuously at `limit / window` per second, so a client may
burst up to the limit and then proceeds at the steady rate. Token counts are reserved from an
estimate before the call and corrected after it (`give` with a negative amount puts the bucket in
debt, which later requests wait out).
"""

from __future__ import annotations

import math


class Bucket:
    __slots__ = ("level", "limit", "rate", "updated", "window")

    def __init__(self, limit: int, window: float, now: float) -> None:
        self.limit = float(limit)
        self.window = window
        self.rate = limit / window
        self.level = float(limit)
        self.updated = now

    def resize(self, limit: int, window: float, now: float) -> None:
        """Adopt a changed limit, keeping what has been used: up to now, at the old rate (what a window ago used
        is no debt at a lower one)."""
        self._refill(now)
        used = self.limit - self.level
        self.limit, self.window, self.rate = float(limit), window, limit / window
        self.level = self.limit - used

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.limit, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, amount: float, now: float) -> float:
        """Seconds until `amount` fits (0 if it fits now, inf if it never can)."""
        self._refill(now)
        if amount <= self.level:
            return 0.0
        if amount > self.limit:
            return math.inf
        return (amount - self.level) / self.rate

    def take(self, amount: float) -> None:
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        """Return unused units (or, with a negative amount, charge more than was taken)."""
        self._refill(now)
        self.level = min(self.limit, self.level + amount)

    @property
    def remaining(self) -> int:
        return max(0, int(self.level))

    @property
    def reset_seconds(self) -> float:
        """Time until the bucket is full again (OpenAI's x-ratelimit-reset-*)."""
        return max(0.0, (self.limit - self.level) / self.rate)


def duration_header(seconds: float) -> str:
    """OpenAI's reset format: 20ms, 1.5s, 6m0s, 1h2m3s."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < 60:
        return f"{math.ceil(seconds * 100) / 100:g}s"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"
