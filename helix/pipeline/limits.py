"""Limits stage: model allow-lists, rate limits and budgets, checked before anything reaches a provider.

In order, for the key a request carries (none in laptop mode):
  1. allow-list   the key's `models` patterns must match the requested or resolved model (403)
  2. rate limits  requests and tokens per window, per key and globally ([limits] rpm/tpm); token
                  buckets that refill continuously; 429 `rate_limit_exceeded` with Retry-After and
                  OpenAI's x-ratelimit-* headers, which successful answers carry too
  3. budgets      the key's budget over its period, and the end user's (`user` field or x-helix-user)
                  over theirs; 429 `budget_exceeded` when spent + in flight leaves no room for the
                  prompt

Budgets hold under concurrency by reservation: before the call, an estimate (prompt size, plus
max_tokens or [limits] output_tokens_estimate) is reserved against every ledger that applies; once the
log stage knows the real cost (`call.on_finish`, also after a stream or a disconnect), the reservation
is released and the real cost charged. A request is admitted only while spent + reserved + its prompt
cost fits the budget, so concurrent requests overshoot by at most one request's cost. Cache hits
(`call.cost == 0`) cost nothing and use no tokens. A stream cut before its usage arrived is charged
its estimate: the provider bills generated tokens whether or not the client read them.

Spend per key and per user is read from the request log when a key (or user budget) is loaded, then
kept in memory; refusals touch nothing. Checks are all made before anything is taken, so a refused
request consumes no quota.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from helix.alerts import Alerts
from helix.call import Call, Next, Reply
from helix.config import LimitsConfig
from helix.errors import Forbidden, RateLimited
from helix.pipeline.auth import KeyRing
from helix.pricing import PriceBook
from helix.quota import estimate
from helix.quota.buckets import Bucket, duration_header
from helix.quota.periods import ADJECTIVE, describe_reset, period_bounds
from helix.store import keys as key_store
from helix.store import reservations
from helix.store.db import connect
from helix.store.keys import KeyRecord
from helix.store.writer import Writer

log = logging.getLogger("helix.limits")

NO_RETRY = {"x-should-retry": "false"}


@dataclass(slots=True)
class Ledger:
    """Spend against one budget over its current period, plus what requests in flight have reserved."""

    budget: float | None
    period: str
    start: float
    end: float
    spent: float = 0.0
    reserved: float = 0.0
    alerted: set[int] | None = None  # thresholds already announced this period (keys only)

    @classmethod
    def open(cls, budget: float | None, period: str, now: float, spent: float = 0.0) -> Ledger:
        start, end = period_bounds(period, now)
        return cls(budget, period, start, end, spent)

    def roll(self, now: float) -> None:
        if now >= self.end:
            self.start, self.end = period_bounds(self.period, now)
            self.spent = 0.0
            if self.alerted is not None:
                self.alerted = set()

    def refuses(self, prompt_cost: float) -> bool:
        if self.budget is None:
            return False
        committed = self.spent + self.reserved
        return committed >= self.budget or committed + prompt_cost > self.budget


@dataclass(slots=True)
class _UserRule:
    budget: float
    period: str
    seed_start: float = -1.0  # spend read from the log for this period start
    seed: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Admission:
    """What one admitted request took, so it can be settled exactly once."""

    stage: LimitsStage
    key: KeyRecord | None
    request_buckets: list[Bucket]
    token_buckets: list[Bucket]
    tokens: int
    key_ledger: Ledger | None
    user_ledger: Ledger | None
    cost: float
    settled: bool = False

    def settle(self, call: Call) -> None:
        if not self.settled:
            self.settled = True
            self.stage.settle(self, call)


class LimitsStage:
    def __init__(
        self,
        config: LimitsConfig,
        keys: KeyRing,
        prices: PriceBook,
        alerts: Alerts,
        writer: Writer,
        db_path: str | Path,
    ) -> None:
        self._config = config
        self._keys = keys
        self._prices = prices
        self._alerts = alerts
        self._writer = writer
        self._db_path = db_path
        self._window = config.window_seconds
        now = time.monotonic()
        self._global_rpm = Bucket(config.rpm, self._window, now) if config.rpm else None
        self._global_tpm = Bucket(config.tpm, self._window, now) if config.tpm else None
        self._rpm: dict[str, Bucket] = {}
        self._tpm: dict[str, Bucket] = {}
        self._key_ledgers: dict[str, Ledger] = {}
        self._user_ledgers: dict[tuple[str | None, str], Ledger] = {}
        self._global_user_rule = (
            _UserRule(config.user_budget, config.user_budget_period) if config.user_budget is not None else None
        )
        self._user_rules: dict[str | None, _UserRule] = {}
        # Nothing to check for a request without a key: skip straight to the next stage.
        self._keyless_free = self._global_rpm is None and self._global_tpm is None and self._global_user_rule is None
        keys.on_change(self.sync)

    # The stage.

    async def __call__(self, call: Call, next: Next) -> Reply:
        key = self._keys.by_id.get(call.key_id) if call.key_id is not None else None
        if key is None and self._keyless_free:
            return await next(call)
        admission = self.admit(call, key)
        call.on_finish.append(admission.settle)
        try:
            return await next(call)
        except asyncio.CancelledError:
            admission.settle(call)  # the log stage does not see a cancelled call
            if call.durable:
                self._writer.submit(reservations.DELETE, (call.id,))
            raise

    def admit(self, call: Call, key: KeyRecord | None) -> Admission:
        if (
            key is not None
            and key.models is not None
            and not self._keys.allows(key, call.requested_model, call.target.name)
        ):
            raise Forbidden(
                f"this Helix key ('{key.name}') may not use model '{call.requested_model}'; "
                f"it is allowed: {', '.join(key.models)}",
                code="model_not_allowed",
                param="model",
            )
        mono = time.monotonic()
        prompt = estimate.prompt_tokens(call)
        explicit_output = estimate.max_output_tokens(call)
        tokens = prompt + explicit_output

        request_buckets: list[Bucket] = []
        token_buckets: list[Bucket] = []
        if key is not None:
            if key.rpm:
                request_buckets.append(self._bucket(self._rpm, key.id, key.rpm, mono))
            if key.tpm:
                token_buckets.append(self._bucket(self._tpm, key.id, key.tpm, mono))
        if self._global_rpm is not None:
            request_buckets.append(self._global_rpm)
        if self._global_tpm is not None:
            token_buckets.append(self._global_tpm)
        for bucket in request_buckets:
            wait = bucket.wait(1, mono)
            if wait > 0:
                raise self._rate_limited("requests", bucket, wait, key, request_buckets, token_buckets)
        for bucket in token_buckets:
            wait = bucket.wait(tokens, mono)
            if wait > 0:
                raise self._rate_limited("tokens", bucket, wait, key, request_buckets, token_buckets, tokens)

        now = time.time()
        price = self._prices.price(call.target.provider.name, call.target.model)
        prompt_cost = cost = 0.0
        if price is not None:
            output = explicit_output or self._config.output_tokens_estimate * estimate.choices(call)
            prompt_cost = prompt * price.input / 1_000_000
            answers = call.endpoint not in ("embeddings", "count_tokens")
            cost = prompt_cost + (output if answers else 0) * price.output / 1_000_000
        key_ledger = self._key_ledgers.get(key.id) if key is not None else None
        if key_ledger is not None:
            key_ledger.roll(now)
            if key_ledger.refuses(prompt_cost):
                assert key is not None and key_ledger.budget is not None
                if key_ledger.spent + prompt_cost > key_ledger.budget:  # spent, not just reserved in flight
                    self._alert(key, key_ledger, 1.0, refusing=True)
                raise self._over_budget(f"this Helix key ('{key.name}')", key_ledger)
        user_ledger = self._user_ledger(key, call.user, now) if call.user else None
        if user_ledger is not None:
            user_ledger.roll(now)
            if user_ledger.refuses(prompt_cost):
                raise self._over_budget(f"user '{call.user}'", user_ledger, per_user=True)

        # Everything fits: take it.
        for bucket in request_buckets:
            bucket.take(1)
        for bucket in token_buckets:
            bucket.take(tokens)
        if key_ledger is not None:
            key_ledger.reserved += cost
            remaining = max(0.0, (key_ledger.budget or 0.0) - key_ledger.spent)
            call.response_headers["x-helix-budget-remaining-usd"] = f"{remaining:.6f}"
        if user_ledger is not None:
            user_ledger.reserved += cost
        if key_ledger is not None or user_ledger is not None:
            # On disk until the log row lands, so a crash cannot make this request free (store/reservations.py).
            call.durable = True
            self._writer.submit(reservations.INSERT, reservations.row(call, cost))
        if request_buckets or token_buckets:
            call.response_headers.update(self._headers(request_buckets, token_buckets))
        return Admission(self, key, request_buckets, token_buckets, tokens, key_ledger, user_ledger, cost)

    def settle(self, admission: Admission, call: Call) -> None:
        hit = call.cache is not None and call.cache.startswith("HIT")
        usage = call.usage
        cut_short = usage is None and call.ttft is not None and not hit  # a stream that ended before its usage
        if hit:
            used_tokens = 0
        elif usage is not None:
            used_tokens = usage.prompt_tokens + usage.completion_tokens
        else:
            used_tokens = admission.tokens if cut_short else 0
        if admission.token_buckets:
            mono = time.monotonic()
            for bucket in admission.token_buckets:
                bucket.give(admission.tokens - used_tokens, mono)
        ledger, user_ledger = admission.key_ledger, admission.user_ledger
        if ledger is None and user_ledger is None:
            return
        cost = call.cost if call.cost is not None else admission.cost if cut_short else 0.0
        now = time.time()
        for each in (ledger, user_ledger):
            if each is not None:
                each.reserved = max(0.0, each.reserved - admission.cost)
                each.roll(now)
                each.spent += cost
        if admission.key is not None and ledger is not None and ledger.budget:
            self._alert(admission.key, ledger, ledger.spent / ledger.budget)

    def _alert(self, key: KeyRecord, ledger: Ledger, used: float, refusing: bool = False) -> None:
        """Announce the highest budget threshold `used` (a fraction) reached that was not announced yet."""
        if ledger.alerted is None or ledger.budget is None:
            return
        threshold = self._alerts.crossed(used, ledger.alerted)
        if threshold is None:
            return
        ledger.alerted.update(t for t in self._alerts.thresholds if t <= threshold)
        self._alerts.budget_crossed(
            subject=f"key:{key.id}",
            key_id=key.id,
            key_name=key.name,
            key_prefix=key.display,
            threshold=threshold,
            spent=ledger.spent,
            budget=ledger.budget,
            period=ledger.period,
            period_start=ledger.start,
            period_end=ledger.end,
            refusing=refusing,
        )

    def live(self, key_id: str) -> dict[str, float | None]:
        """A key's budget ledger as this server sees it now: spent this period and reserved in flight."""
        ledger = self._key_ledgers.get(key_id)
        if ledger is None:
            return {"spent_usd": None, "reserved_usd": None, "budget_usd": None}
        ledger.roll(time.time())
        return {"spent_usd": ledger.spent, "reserved_usd": ledger.reserved, "budget_usd": ledger.budget}

    # Helpers of the hot path.

    def _bucket(self, buckets: dict[str, Bucket], key_id: str, limit: int, now: float) -> Bucket:
        bucket = buckets.get(key_id)
        if bucket is None:
            bucket = buckets[key_id] = Bucket(limit, self._window, now)
        elif bucket.limit != limit:
            bucket.resize(limit, self._window)
        return bucket

    def _user_ledger(self, key: KeyRecord | None, user: str, now: float) -> Ledger | None:
        group = key.id if key is not None else None
        ledger = self._user_ledgers.get((group, user))
        if ledger is None:
            rule = self._user_rules.get(group)
            if rule is None:
                return None
            ledger = Ledger.open(rule.budget, rule.period, now)
            if ledger.start == rule.seed_start:
                ledger.spent = rule.seed.get(user, 0.0)
            self._user_ledgers[(group, user)] = ledger
        return ledger

    def _headers(self, requests: list[Bucket], tokens: list[Bucket]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, buckets in (("requests", requests), ("tokens", tokens)):
            if not buckets:
                continue
            tightest = min(buckets, key=lambda b: b.level / b.limit)
            headers[f"x-ratelimit-limit-{kind}"] = str(int(tightest.limit))
            headers[f"x-ratelimit-remaining-{kind}"] = str(tightest.remaining)
            headers[f"x-ratelimit-reset-{kind}"] = duration_header(tightest.reset_seconds)
        return headers

    def _rate_limited(
        self,
        kind: str,
        bucket: Bucket,
        wait: float,
        key: KeyRecord | None,
        requests: list[Bucket],
        tokens: list[Bucket],
        needed: int = 1,
    ) -> RateLimited:
        who = (
            f"this Helix key ('{key.name}')"
            if key is not None
            and bucket
            in (
                self._rpm.get(key.id),
                self._tpm.get(key.id),
            )
            else "this Helix gateway (all keys together)"
        )
        window = duration_header(self._window)
        headers = self._headers(requests, tokens)
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

    def _over_budget(self, who: str, ledger: Ledger, per_user: bool = False) -> RateLimited:
        assert ledger.budget is not None
        budget = f"{ADJECTIVE.get(ledger.period, ledger.period)} {'per-user ' if per_user else ''}budget"
        in_flight = f" (${ledger.reserved:,.4f} more in flight)" if ledger.reserved > 0 else ""
        return RateLimited(
            f"budget exceeded: {who} has spent ${ledger.spent:,.4f}{in_flight} of its ${ledger.budget:,.2f} "
            f"{budget}; {describe_reset(ledger.end)}, or ask your Helix admin to raise it",
            type="insufficient_quota",
            code="budget_exceeded",
            headers=dict(NO_RETRY),
        )

    # Keeping ledgers in step with the keys (called by the key ring before new keys take effect).

    async def sync(self, keys: list[KeyRecord]) -> None:
        now = time.time()
        active = [k for k in keys if k.revoked_at is None]
        load_keys: list[KeyRecord] = []
        for key in active:
            ledger = self._key_ledgers.get(key.id)
            if key.budget is None:
                self._key_ledgers.pop(key.id, None)
            elif ledger is None or ledger.period != key.period:
                load_keys.append(key)
            else:
                ledger.budget = key.budget
        # Per-user budgets: one rule per group of users (a key's users, or keyless requests under None).
        wanted: dict[str | None, tuple[float, str]] = {}
        default = self._global_user_rule
        if default is not None:
            wanted[None] = (default.budget, default.period)
        for key in active:
            if key.user_budget is not None:
                wanted[key.id] = (key.user_budget, key.user_period or self._config.user_budget_period)
            elif default is not None:
                wanted[key.id] = (default.budget, default.period)
        rules: dict[str | None, _UserRule] = {}
        load_rules: dict[str | None, _UserRule] = {}
        for group, (budget, period) in wanted.items():
            rule = self._user_rules.get(group)
            if rule is None or rule.period != period:
                rule = load_rules[group] = _UserRule(budget, period)
            rule.budget = budget
            rules[group] = rule
        for (group, user), ledger in list(self._user_ledgers.items()):
            if group not in rules or group in load_rules:
                del self._user_ledgers[(group, user)]
            else:
                ledger.budget = rules[group].budget
        if load_keys or load_rules:
            await self._writer.flush()  # what this process already logged must be in the sums
            spends, alerted, seeds = await asyncio.to_thread(self._read_spend, load_keys, load_rules, now)
            for key in load_keys:
                ledger = Ledger.open(key.budget, key.period, now, spends[key.id])
                ledger.alerted = alerted[key.id]
                self._key_ledgers[key.id] = ledger
            for group, (start, seed) in seeds.items():
                load_rules[group].seed_start, load_rules[group].seed = start, seed
        self._user_rules = rules
        ids = {k.id for k in active}
        for table in (self._key_ledgers, self._rpm, self._tpm):
            for key_id in [k for k in table if k not in ids]:
                del table[key_id]

    def _read_spend(
        self, keys: list[KeyRecord], rules: dict[str | None, _UserRule], now: float
    ) -> tuple[dict[str, float], dict[str, set[int]], dict[str | None, tuple[float, dict[str, float]]]]:
        conn = connect(self._db_path, readonly=True)
        try:
            spends: dict[str, float] = {}
            alerted: dict[str, set[int]] = {}
            for key in keys:
                start, _ = period_bounds(key.period, now)
                spends[key.id] = key_store.key_spend(conn, key.id, start)
                alerted[key.id] = key_store.alerts_sent(conn, f"key:{key.id}", start)
            seeds: dict[str | None, tuple[float, dict[str, float]]] = {}
            for group, rule in rules.items():
                start, _ = period_bounds(rule.period, now)
                seeds[group] = (start, key_store.user_spend(conn, group, start))
            return spends, alerted, seeds
        finally:
            conn.close()
