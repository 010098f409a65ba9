"""Peak-EWMA latency (as in Finagle and Helicone's router): jumps up to a slow sample at once, decays
toward fast ones with a time constant, so a deployment that turns slow is avoided immediately."""

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

    def cost(self, in_flight: int) -> float:
        return self.value * (in_flight + 1)
