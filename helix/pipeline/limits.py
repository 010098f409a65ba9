"""Limits stage: model allow-lists, rate limits and budgets, checked before anything reaches a provider.

In order, for the key a request carries (none in laptop mode):
  1. allow-list   the key's `models` patterns must match the requested or resolved model (403)
  2. rate limits  requests and tokens per window, per key and globally ([limits] rpm/tpm); token
                  buckets that refill continuously; 429 `rate_limit_exceeded` with Retry-After and
                  OpenAI's x-ratelimit-* headers, which successful answers carry too (helix/quota/rates.py)
  3. budgets      the key's budget over its period, and the end user's (`user` field or x-helix-user)
                  over theirs; 429 `budget_exceeded` when spent + in flight leaves no room for the
                  prompt (the ledgers: helix/quota/ledger.py)

Budgets hold under concurrency by reservation: before the call, an estimate (prompt size, plus
max_tokens or [limits] output_tokens_estimate) is reserved against every ledger that applies; once the
log stage knows the real cost (`call.on_finish`, also after a stream or a disconnect), the reservation
is released and the real cost charged. A request is admitted only while spent + reserved + its prompt
cost fits the budget, so concurrent requests overshoot by at most one request's cost, and by what answers
longer than their reservation (no max_tokens, more output than the estimate) cost beyond it. Cache hits
(`call.cost == 0`) cost nothing and use no tokens. An answer that came without its usage (a stream cut
before it, a provider that reports none, a client gone before the answer) is charged its estimate: the
provider bills generated tokens whether or not the client read them.

Checks are all made before anything is taken, so a refused request consumes no quota. A request that fits what
has been spent but not what requests in flight have reserved waits (at most `ROOM_WAIT_SECONDS`, or its own
x-helix-timeout) for them to settle: they often cost less than reserved, and the same question asked in a burst is
answered once and served to the rest from the cache at $0, where refusing would have turned the burst away.

On a database shared by several instances (PostgreSQL), the reservation is written before the call and
is itself the budget check across all of them, for the key's budget and the end user's alike
(helix/quota/shared.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from helix.alerts import Alerts
from helix.call import Call, Next, Reply, Target
from helix.config import LimitsConfig
from helix.dburl import Location, PostgresUrl
from helix.errors import DatabaseUnavailable, Forbidden, RateLimited
from helix.format import money
from helix.periods import ADJECTIVE, describe_reset
from helix.pii.scrub import quoted
from helix.pipeline.auth import KeyRing
from helix.pipeline.headers import timeout_header
from helix.pricing import PriceBook
from helix.quota import estimate
from helix.quota.leases import SharedRates
from helix.quota.ledger import Ledger, Ledgers
from helix.quota.rates import NO_RETRY, RateLimits, Taken
from helix.quota.shared import SharedBudgets
from helix.store import reservations
from helix.store.writer import Writer
from helix.virtual_keys import KeyRecord

ROOM_WAIT_SECONDS = 30.0


class _RoomInFlight(Exception):
    """A budget refused a request only for what requests in flight have reserved: their settling may make room."""

    def __init__(self, refusal: RateLimited) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


@dataclass(slots=True, eq=False)
class Admission:
    """What one admitted request took, so it can be settled exactly once."""

    stage: LimitsStage
    key: KeyRecord | None
    taken: Taken
    key_ledger: Ledger | None
    user_ledger: Ledger | None
    cost: float
    prompt_cost: float
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
        db_path: Location,
        answered_by: Callable[[Call], Sequence[Target]] | None = None,
    ) -> None:
        """`answered_by`: the deployments a call's route may be answered by (an alias's, fallbacks' included); a
        budget needs each priced, and reserves at the dearest. Without it, the call's own target."""
        self._answered_by = answered_by
        self._config = config
        self._keys = keys
        self._prices = prices
        self._alerts = alerts
        self._writer = writer
        self._shared_rates = SharedRates(db_path) if isinstance(db_path, PostgresUrl) else None
        self._rates = RateLimits(config, time.monotonic(), self._shared_rates)
        self._ledgers = Ledgers(config, writer, db_path)
        self._shared = SharedBudgets(db_path) if isinstance(db_path, PostgresUrl) else None
        self._keyless_free = self._nothing_for_keyless()
        self._room: asyncio.Event | None = None  # set when room may have come, for the requests waiting on it
        keys.on_change(self.sync)

    async def reconfigure(self, config: LimitsConfig) -> None:
        """Adopt new [limits] settings (a live reload) in place: budgets reserved by requests in flight, spend
        this period and what rate-limit buckets have used all carry over."""
        self._config = config
        self._rates.reconfigure(config, time.monotonic())
        self._ledgers.reconfigure(config)
        await self.sync(list(self._keys.by_id.values()))
        self._keyless_free = self._nothing_for_keyless()

    def _nothing_for_keyless(self) -> bool:
        """Nothing to check for a request without a key: it skips straight to the next stage."""
        return not self._rates.global_limits and not self._ledgers.keyless_users_budgeted

    async def __call__(self, call: Call, next: Next) -> Reply:
        key = call.key
        if key is None and self._keyless_free:
            return await next(call)
        if self._shared is not None:
            prompt, explicit_output = _tokens(call)
            await self._rates.top_up(key, prompt + explicit_output, time.monotonic())
        try:
            admission = self.admit(call, key)
        except _RoomInFlight:
            admission = await self._admit_once_settled(call, key)
        call.on_finish.append(admission.settle)
        try:
            if self._shared is not None and call.durable:
                await self._reserve_shared(call, admission)
            return await next(call)
        except asyncio.CancelledError:
            admission.settle(call)  # before the log stage's own settle (a no-op then), as the reservation goes
            if call.durable:
                self._writer.submit(reservations.DELETE, (call.id,))
            raise

    def admit(self, call: Call, key: KeyRecord | None) -> Admission:
        models = key.spec.models if key is not None else None
        if (
            key is not None
            and models is not None
            and not self._keys.allows(key, call.requested_model, call.target.name)
        ):
            raise Forbidden(
                f"this Helix key ('{key.name}') may not use model {quoted(call.requested_model)}; "
                f"it is allowed: {', '.join(models)}",
                code="model_not_allowed",
                param="model",
            )
        prompt, explicit_output = _tokens(call)
        free = call.endpoint in estimate.FREE_ENDPOINTS
        # Counting tokens calls no model: no request of the key's rate either (Claude Code counts before each turn).
        taken = Taken([], [], 0) if free else self._rates.check(key, prompt + explicit_output, time.monotonic())

        now = time.time()
        key_ledger = None if free else self._ledgers.of_key(key, now)
        user_ledger = self._ledgers.of_user(key, call.user, now) if call.user and not free else None
        budgeted = key_ledger is not None or user_ledger is not None
        # A budget counts whichever deployment answers: each must have a price, and the dearest is reserved.
        targets = self._answered_by(call) if budgeted and self._answered_by is not None else (call.target,)
        unpriced, prompt_cost, cost = None, 0.0, 0.0
        output_estimate = self._config.output_tokens_estimate
        price_of = call.price_of or self._prices.price  # the prices the call began under (a reload may come between)
        for target in targets:
            price = price_of(target.provider.name, target.model)
            if price is None:
                unpriced = unpriced or target
                continue
            costs = estimate.costs(call, prompt, explicit_output, price, output_estimate)
            prompt_cost, cost = max(prompt_cost, costs[0]), max(cost, costs[1])
        if key_ledger is not None and key_ledger.refuses(prompt_cost):
            assert key is not None
            refusal = _over_budget(f"this Helix key ('{key.name}')", key_ledger)
            if key_ledger.fits_once_settled(prompt_cost):
                raise _RoomInFlight(refusal)
            self._alerts.budget_refused(key, key_ledger)
            raise refusal
        if user_ledger is not None and user_ledger.refuses(prompt_cost):
            refusal = _over_budget(f"user '{call.user}'", user_ledger, per_user=True)
            raise _RoomInFlight(refusal) if user_ledger.fits_once_settled(prompt_cost) else refusal
        if unpriced is not None and budgeted:
            # Free to a budget, it would never be refused: a budgeted key spending only on such models had no limit.
            who = f"user '{call.user}'"
            if key is not None and key_ledger is not None:
                who = f"this Helix key ('{key.name}')"
            named = f"{unpriced.provider.name}/{unpriced.model}"
            via = f" (which may answer {quoted(call.requested_model)})" if unpriced.name != call.target.name else ""
            raise Forbidden(
                f"{who} has a budget, and Helix has no price for {quoted(named)}{via} to count against it; add one "
                "under [pricing] in the config (see helix.example.toml) or use a priced model",
                code="model_not_priced",
                param="model",
            )

        if budgeted and self._writer.unwritable is not None:
            # Its reservation and its log row would be lost with the rest (a restart would find it never spent).
            raise DatabaseUnavailable(
                f"Helix cannot write its database ({self._writer.unwritable}); requests under a budget are refused "
                "until it can, as their spend could not be kept. Free some disk space; no restart is needed",
                headers={"retry-after": "5"},
            )
        # Everything fits: take it.
        headers = self._rates.take(taken)
        if key_ledger is not None:
            key_ledger.reserved += cost
            remaining = max(0.0, (key_ledger.budget or 0.0) - key_ledger.spent)
            call.response_headers["x-helix-budget-remaining-usd"] = f"{remaining:.6f}"
        if user_ledger is not None:
            user_ledger.reserved += cost
        if key_ledger is not None or user_ledger is not None:
            # On disk until the log row lands, so a crash cannot make this request free (store/reservations.py).
            call.durable = True
            if self._shared is None:
                self._writer.submit(reservations.INSERT, reservations.row(call, cost))
        call.response_headers.update(headers)
        return Admission(self, key, taken, key_ledger, user_ledger, cost, prompt_cost)

    async def _admit_once_settled(self, call: Call, key: KeyRecord | None) -> Admission:
        """Admit `call` once requests in flight have settled (or a budget changed) enough to make room, or raise the
        last refusal when no room came within the wait (or never can: what is spent leaves none)."""
        loop = asyncio.get_running_loop()
        own = timeout_header(call.headers)
        until = loop.time() + min(ROOM_WAIT_SECONDS, own if own is not None else ROOM_WAIT_SECONDS)
        while True:
            if self._room is None:
                self._room = asyncio.Event()
            left = until - loop.time()
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), left)
            try:
                return self.admit(call, key)
            except _RoomInFlight as still:
                if loop.time() >= until:
                    raise still.refusal from None

    def _wake(self) -> None:
        """Let the requests waiting for room look again: a reservation was released or a budget changed."""
        if self._room is not None:
            self._room.set()
            self._room = None

    async def _reserve_shared(self, call: Call, admission: Admission) -> None:
        assert self._shared is not None
        key = admission.key
        refused = await self._shared.reserve(
            call, key, admission.key_ledger, admission.user_ledger, admission.prompt_cost, admission.cost
        )
        if refused is None:
            return
        per_user, ledger = refused
        if per_user:
            raise _over_budget(f"user '{call.user}'", ledger, per_user=True)
        assert key is not None
        raise _over_budget(f"this Helix key ('{key.name}')", ledger)

    def settle(self, admission: Admission, call: Call) -> None:
        hit = call.cache is not None and call.cache.startswith("HIT")
        usage = call.usage
        unmetered = estimate.unmetered(call)
        if hit:
            used_tokens = 0
        elif usage is not None:
            used_tokens = usage.prompt_tokens + usage.completion_tokens
        else:
            used_tokens = admission.taken.estimate if unmetered else 0
        if admission.taken.tokens:
            admission.taken.give_back(used_tokens, time.monotonic())
        ledger, user_ledger = admission.key_ledger, admission.user_ledger
        if ledger is None and user_ledger is None:
            return
        cost = call.cost if call.cost is not None else admission.cost if unmetered else 0.0
        if unmetered:  # the log row says what was charged: the spend it reports, and a restart reads back, count it
            call.cost = cost
        now = time.time()
        for each in (ledger, user_ledger):
            if each is not None:
                each.settle(admission.cost, cost, now, call.ts)
        self._wake()
        if admission.key is not None and ledger is not None and ledger.budget:
            self._alerts.budget_reached(admission.key, ledger, ledger.spent / ledger.budget)

    def close(self) -> None:
        for shared in (self._shared, self._shared_rates):
            if shared is not None:
                shared.close()

    async def live(self, key_id: str) -> dict[str, float | None]:
        """A key's budget now: spent this period and reserved in flight (on a shared database, by every instance:
        this one's ledger knows the others' spend only as of its own last admission)."""
        ledger = self._ledgers.of_key_id(key_id)
        if ledger is None:
            return {"spent_usd": None, "reserved_usd": None, "budget_usd": None}
        found = await self._shared.current(key_id, ledger) if self._shared is not None else None
        spent, reserved = found if found is not None else (ledger.spent, ledger.reserved)
        return {"spent_usd": spent, "reserved_usd": reserved, "budget_usd": ledger.budget}

    async def sync(self, keys: list[KeyRecord]) -> None:
        """Keep the ledgers and buckets in step with the keys (called by the key ring before they take effect)."""
        budgets = self._ledgers.budgets()
        await self._ledgers.sync(keys)
        self._wake()  # a budget raised or removed may make room
        if self._shared is not None:
            await self._shared.forget(sorted(budgets - self._ledgers.budgets()))
        self._rates.forget({k.id for k in keys if k.revoked_at is None})


def _tokens(call: Call) -> tuple[int, int]:
    """The prompt's estimated tokens, and the output tokens the request asks for at most (0: unsaid); none for what
    uses no tokens (counting them)."""
    if call.endpoint in estimate.FREE_ENDPOINTS:
        return 0, 0
    return estimate.prompt_tokens(call), estimate.max_output_tokens(call)


def _over_budget(who: str, ledger: Ledger, per_user: bool = False) -> RateLimited:
    assert ledger.budget is not None
    budget = f"{ADJECTIVE.get(ledger.period, ledger.period)} {'per-user ' if per_user else ''}budget"
    in_flight = f" (${ledger.reserved:,.4f} more in flight)" if ledger.reserved > 0 else ""
    return RateLimited(
        f"budget exceeded: {who} has spent ${ledger.spent:,.4f}{in_flight} of its {money(ledger.budget)} "
        f"{budget}; {describe_reset(ledger.end)}, or ask your Helix admin to raise it",
        type="insufficient_quota",
        code="budget_exceeded",
        headers=dict(NO_RETRY),
    )
