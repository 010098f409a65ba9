"""Peak-EWMA latency (as in Finagle and Helicone's router): jumps up to a slow sample at once, decays
toward fast ones with a time constant, so a deployment that turns slow is avoided immediately; and fades with time
when no sample comes (read as Finagle reads it, as a sample of 0), so one avoided after a slow answer is tried again."""

from __future__ import annotations

import math

DECAY_SECONDS = 10.0


class PeakEwma:
    __slots__ = ("_stamp", "value")

    def __init__(self) -> None:
        self.value = 0.0  # seconds; 0 until the first sample, so an untried deployment gets tried
        self._stamp = 0.0

    def observe(self, seconds: float, now: float) -> None:
        if seconds >= self.value:
            self.value = seconds
        else:
            weight = math.exp(-(now - self._stamp) / DECAY_SECONDS)
            self.value = self.value * weight + seconds * (1.0 - weight)
        self._stamp = now

    def current(self, now: float) -> float:
        """The estimate at `now`: a deployment no request went to since its slow answer was shut out for good (it never
        had a new sample to pull its estimate down)."""
        return self.value * math.exp(-max(0.0, now - self._stamp) / DECAY_SECONDS)

    def cost(self, in_flight: int, now: float) -> float:
        return self.current(now) * (in_flight + 1)
