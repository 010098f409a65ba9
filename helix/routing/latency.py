"""Peak-EWMA latency (as in Finagle and Helicone's router): jumps up to a slow sample at once, decays
toward fast ones with a time constant, so a deployment that turns slow is avoided immediately; and is forgotten once
no sample has come for STALE_SECONDS, so one avoided after a slow answer is tried again (never, when only a new
sample could pull it down and no request went to it)."""

from __future__ import annotations

import math

DECAY_SECONDS = 10.0
# Read as untried past this: long enough that a slow deployment is kept out under steady traffic (a decay toward 0 on
# every read made least-latency nearly random at a request every few seconds), short enough to be tried again soon.
STALE_SECONDS = 60.0


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
        """The estimate at `now`; 0 (untried) once it is stale."""
        return self.value if now - self._stamp <= STALE_SECONDS else 0.0

    def cost(self, in_flight: int, now: float) -> float:
        if self.value and now - self._stamp > STALE_SECONDS:
            # tried again one request at a time (a second each in flight), not with every request of a burst until its
            # first answer comes back (a reviewer's simulation: 240 at once on a 5 s deployment)
            return float(in_flight)
        return self.current(now) * (in_flight + 1)
