"""Rate limits: requests and tokens per window, for each key ([key] rpm/tpm) and for the whole gateway
([limits] rpm/tpm). Checked all before any is taken, so a refused request uses none of them; answers
carry OpenAI's x-ratelimit-* headers for the tightest bucket of each kind. With a database shared by
several instances, the buckets are leases of shared ones (helix/quota/leases.py), topped up before the check."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from helix.config import LimitsConfig
from helix.errors import RateLimited
from helix.quota.buckets import Bucket, duration_header
from helix.quota.leases import LeasedBucket, SharedRates
from helix.virtual_keys import KeyRecord

NO_RETRY = {"x-should-retry": "false"}


@dataclass(slots=True)
class Taken:
    """The buckets one request drew from, so what it did not use can be given back."""

    requests: list[Bucket]
    tokens: list[Bucket]
    estimate: int  # tokens taken up front

    def give_back(self, used: int, now: float) -> None:
        for bucket in self.tokens:
            bucket.give(self.estimate - used, now)


class RateLimits:
    def __init__(self, config: LimitsConfig, now: float, shared: SharedRates | None = None) -> None:
        self._window = config.window_seconds
        self._shared = shared
        self._global_rpm = self._adopt(None, "gateway:rpm", config.rpm, now)
        self._global_tpm = self._adopt(None, "gateway:tpm", config.tpm, now)
        self._rpm: dict[str, Bucket] = {}
        self._tpm: dict[str, Bucket] = {}

    def reconfigure(self, config: LimitsConfig, now: float) -> None:
        """Adopt new [limits] settings (a live reload); every bucket keeps what it has used."""
        self._window = config.window_seconds
        self._global_rpm = self._adopt(self._global_rpm, "gateway:rpm", config.rpm, now)
        self._global_tpm = self._adopt(self._global_tpm, "gateway:tpm", config.tpm, now)
        for bucket in (*self._rpm.values(), *self._tpm.values()):
            bucket.resize(int(bucket.limit), self._window, now)

    def _adopt(self, bucket: Bucket | None, subject: str, limit: int | None, now: float) -> Bucket | None:
        if not limit:
            return None
        if bucket is None:
            return self._new(subject, limit, now)
        bucket.resize(limit, self._window, now)
        return bucket

    @property
    def global_limits(self) -> bool:
        return self._global_rpm is not None or self._global_tpm is not None

    def _drawn(self, key: KeyRecord | None, tokens: int, now: float) -> Taken:
        taken = Taken([], [], tokens)
        if key is not None:
            if key.spec.rpm:
                taken.requests.append(self._bucket(self._rpm, f"rpm:{key.id}", key.id, key.spec.rpm, now))
            if key.spec.tpm:
                taken.tokens.append(self._bucket(self._tpm, f"tpm:{key.id}", key.id, key.spec.tpm, now))
        if self._global_rpm is not None:
            taken.requests.append(self._global_rpm)
        if self._global_tpm is not None:
            taken.tokens.append(self._global_tpm)
        return taken

    async def top_up(self, key: KeyRecord | None, tokens: int, now: float) -> None:
        """With shared limits: lease what this request needs from the shared buckets, before `check`."""
        if self._shared is None:
            return
        taken = self._drawn(key, tokens, now)
        needs = [(b, 1.0) for b in taken.requests] + [(b, float(tokens)) for b in taken.tokens]
        await self._shared.top_up([(b, n) for b, n in needs if isinstance(b, LeasedBucket)], time.time())

    def check(self, key: KeyRecord | None, tokens: int, now: float) -> Taken:
        """The buckets this request draws from; RateLimited if any has no room. Nothing is taken yet."""
        taken = self._drawn(key, tokens, now)
        for bucket in taken.requests:
            wait = bucket.wait(1, now)
            if wait > 0:
                raise self._refusal("requests", bucket, wait, key, taken)
        for bucket in taken.tokens:
            wait = bucket.wait(tokens, now)
            if wait > 0:
                raise self._refusal("tokens", bucket, wait, key, taken, tokens)
        return taken

    def take(self, taken: Taken) -> dict[str, str]:
        """Take what `check` found room for; the x-ratelimit-* headers of the answer."""
        for bucket in taken.requests:
            bucket.take(1)
        for bucket in taken.tokens:
            bucket.take(taken.estimate)
        return _headers(taken)

    def forget(self, active: set[str]) -> None:
        """Drop the buckets of keys that are gone."""
        for buckets in (self._rpm, self._tpm):
            for key_id in [k for k in buckets if k not in active]:
                del buckets[key_id]

    def _new(self, subject: str, limit: int, now: float) -> Bucket:
        if self._shared is not None:
            return LeasedBucket(subject, limit, self._window, now)
        return Bucket(limit, self._window, now)

    def _bucket(self, buckets: dict[str, Bucket], subject: str, key_id: str, limit: int, now: float) -> Bucket:
        bucket = buckets.get(key_id)
        if bucket is None:
            bucket = buckets[key_id] = self._new(subject, limit, now)
        elif bucket.limit != limit:
            bucket.resize(limit, self._window, now)
        return bucket

    def _refusal(
        self, kind: str, bucket: Bucket, wait: float, key: KeyRecord | None, taken: Taken, needed: int = 1
    ) -> RateLimited:
        own = key is not None and bucket in (self._rpm.get(key.id), self._tpm.get(key.id))
        who = f"this Helix key ('{key.name}')" if own and key is not None else "this Helix gateway (all keys together)"
        window = duration_header(self._window)
        headers = _headers(taken)
        if math.isinf(wait):
            return RateLimited(
                f"request too large: it may use about {needed:,} tokens, more than the {int(bucket.limit):,} "
                f"tokens per {window} allowed for {who}; lower max_tokens or shorten the prompt",
                code="rate_limit_exceeded",
                headers={**headers, **NO_RETRY},
            )
        headers["retry-after"] = str(max(1, math.ceil(wait)))
        headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
        return RateLimited(
            f"rate limit reached for {who}: {int(bucket.limit):,} {kind} per {window}; retry in {wait:.2f}s",
            code="rate_limit_exceeded",
            headers=headers,
        )


def _headers(taken: Taken) -> dict[str, str]:
    headers: dict[str, str] = {}
    for kind, buckets in (("requests", taken.requests), ("tokens", taken.tokens)):
        if not buckets:
            continue
        tightest = min(buckets, key=lambda b: b.level / b.limit)
        headers[f"x-ratelimit-limit-{kind}"] = str(int(tightest.limit))
        headers[f"x-ratelimit-remaining-{kind}"] = str(tightest.remaining)
        headers[f"x-ratelimit-reset-{kind}"] = duration_header(tightest.reset_seconds)
    return headers
