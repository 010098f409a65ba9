"""A deployment at run time: where it sends requests, its limits, and what it has seen (health, latency,
in-flight count, requests and tokens this minute). One object per configured deployment, shared by every
request; a config reload carries the health and latency of a deployment whose settings did not change over, and
the load of one of the same target whatever changed (requests in flight count down what they counted up)."""

from __future__ import annotations

from dataclasses import dataclass, field

from helix.call import Target
from helix.routing.health import Health
from helix.routing.latency import PeakEwma


@dataclass(slots=True)
class Load:
    """What a target is doing now: requests in flight, and requests and tokens this minute (a fixed window)."""

    in_flight: int = 0
    minute: int = 0
    requests: int = 0
    tokens: int = 0

    def roll(self, now: float) -> None:
        minute = int(now // 60)
        if minute != self.minute:
            self.minute, self.requests, self.tokens = minute, 0, 0


@dataclass(slots=True)
class Deployment:
    name: str  # "provider/model", with "#n" when an alias lists the same target twice
    target: Target
    health: Health
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    first_token_timeout: float | None = None
    timeout: float | None = None
    max_input_tokens: int | None = None
    signature: tuple[object, ...] = ()  # the settings this was built from (reload keeps state when equal)
    latency: PeakEwma = field(default_factory=PeakEwma)
    load: Load = field(default_factory=Load)

    @property
    def in_flight(self) -> int:
        return self.load.in_flight

    def has_room(self, now: float) -> bool:
        """Under its rpm and tpm for the current minute (a fixed window: cheap, good enough to spread load)."""
        if self.rpm is None and self.tpm is None:
            return True
        load = self.load
        load.roll(now)
        return (self.rpm is None or load.requests < self.rpm) and (self.tpm is None or load.tokens < self.tpm)

    def started(self, now: float) -> None:
        load = self.load
        load.in_flight += 1
        if self.rpm is not None or self.tpm is not None:
            load.roll(now)
            load.requests += 1

    def finished(self) -> None:
        self.load.in_flight -= 1

    def used_tokens(self, tokens: int, now: float) -> None:
        if self.tpm is not None:
            self.load.roll(now)
            self.load.tokens += tokens
