"""A deployment's circuit breaker: cooled down after repeated failures (or a 429), then probed by one request.

States: "healthy" (takes traffic), "cooling" (left out until `until`), "probing" (the cooldown is over and
one request is finding out whether the deployment is back; the others still avoid it). Plain attribute
updates on the event loop's thread: no locks.
"""

from __future__ import annotations

from collections import deque

HEALTHY, COOLING, PROBING = "healthy", "cooling", "probing"


class Health:
    __slots__ = ("_cooldown", "_failures", "_threshold", "_window", "cooldowns", "probing", "until")

    def __init__(self, threshold: int, window: float, cooldown: float) -> None:
        self._failures: deque[float] = deque()
        self._threshold, self._window, self._cooldown = threshold, window, cooldown
        self.until = 0.0  # end of the current cooldown (monotonic seconds); 0: never cooled
        self.probing = False
        self.cooldowns = 0

    def state(self, now: float) -> str:
        if not self.until:
            return HEALTHY
        return COOLING if now < self.until else PROBING

    def available(self, now: float) -> bool:
        """Whether a request may go here now: healthy, or the cooldown is over and no probe is out yet."""
        return not self.until or (now >= self.until and not self.probing)

    def recent_failures(self, now: float) -> int:
        """Failures counted toward a cooldown: those within the window since the last success or cooldown."""
        return sum(1 for t in self._failures if t >= now - self._window)

    def begin(self, now: float) -> None:
        if self.until and now >= self.until:
            self.probing = True

    def succeeded(self) -> None:
        if self.until or self._failures:
            self._failures.clear()
            self.until, self.probing = 0.0, False

    def inconclusive(self) -> None:
        """The probe told nothing of the deployment (the client's own error, the client left): the next request
        probes instead, or the deployment would wait for a probe that never reports."""
        self.probing = False

    def failed(self, now: float, *, rate_limited: bool = False, retry_after: float | None = None) -> bool:
        """Count a failure; True when it started a cooldown."""
        if self.probing or rate_limited:
            return self._cool(now, retry_after)
        failures = self._failures
        failures.append(now)
        while failures and failures[0] < now - self._window:
            failures.popleft()
        if len(failures) >= self._threshold:
            return self._cool(now, retry_after)
        return False

    def _cool(self, now: float, retry_after: float | None) -> bool:
        self._failures.clear()
        self.probing = False
        self.until = now + max(self._cooldown, retry_after or 0.0)
        self.cooldowns += 1
        return True
