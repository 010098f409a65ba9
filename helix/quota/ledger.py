"""The quota ledger: what each budget has spent this period and what requests in flight have reserved.

One ledger per key with a budget, and one per end user under a per-user budget rule (the key's own
`user_budget`, else `[limits] user_budget`; requests without a key form their own group). Spend is read
from the request log when a key or rule is loaded, then kept in memory: a request reserves its estimate
before it is sent, and settles (releases the reservation, charges the real cost) once the log stage
knows the cost. `sync()` keeps the ledgers in step with the keys, which the CLI or the admin API may
change at any time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from helix.config import LimitsConfig
from helix.periods import period_bounds
from helix.store import budget_spend, spend
from helix.store.db import connect
from helix.store.writer import Writer
from helix.virtual_keys import KeyRecord


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
    alerted_for: float | None = None  # the budget they were announced for

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

    def fits_once_settled(self, prompt_cost: float) -> bool:
        """Whether what is spent leaves room for the prompt: a refusal then is for what requests in flight reserved."""
        return self.budget is not None and self.spent + prompt_cost <= self.budget and self.spent < self.budget

    def settle(self, reserved: float, cost: float, now: float, began: float) -> None:
        """Release what a request reserved and charge what it really cost to the period it `began` in, as its log row
        is (a request that straddles a period's end is the old period's, which a restart reads back)."""
        self.reserved = max(0.0, self.reserved - reserved)
        self.roll(now)
        if began >= self.start:
            self.spent += cost


@dataclass(slots=True)
class UserRule:
    budget: float
    period: str
    seed_start: float = -1.0  # spend read from the log for this period start
    seed: dict[str, float] = field(default_factory=dict)


Group = str | None  # the key's id whose users a rule covers; None: requests made without a key


class Ledgers:
    def __init__(self, config: LimitsConfig, writer: Writer, db_path: str | Path) -> None:
        self._config = config
        self._writer = writer
        self._db_path = db_path
        self._keys: dict[str, Ledger] = {}
        self._users: dict[tuple[Group, str], Ledger] = {}
        self._default_rule = _default_rule(config)
        self._rules: dict[Group, UserRule] = {}

    def reconfigure(self, config: LimitsConfig) -> None:
        """Adopt new [limits] settings (a live reload); the next `sync()` brings the per-user rules in step."""
        self._config = config
        self._default_rule = _default_rule(config)

    @property
    def keyless_users_budgeted(self) -> bool:
        return self._default_rule is not None

    def of_key(self, key: KeyRecord | None, now: float) -> Ledger | None:
        ledger = self._keys.get(key.id) if key is not None else None
        if ledger is None or ledger.budget is None:
            return None
        ledger.roll(now)
        return ledger

    def of_user(self, key: KeyRecord | None, user: str, now: float) -> Ledger | None:
        group = key.id if key is not None else None
        rule = self._rules.get(group)
        if rule is None:
            return None
        ledger = self._users.get((group, user))
        if ledger is None:
            ledger = Ledger.open(rule.budget, rule.period, now)
            if ledger.start == rule.seed_start:
                ledger.spent = rule.seed.get(user, 0.0)
            self._users[(group, user)] = ledger
        ledger.roll(now)
        return ledger

    def budgets(self) -> set[str]:
        """The budgets held now, each as the prefix of its running-spend rows on a shared database."""
        keys = {
            budget_spend.key_prefix(key_id, ledger.period)
            for key_id, ledger in self._keys.items()
            if ledger.budget is not None
        }
        return keys | {budget_spend.user_prefix(group, rule.period) for group, rule in self._rules.items()}

    def of_key_id(self, key_id: str) -> Ledger | None:
        """A key's budget ledger as this server sees it now (spent this period, reserved in flight)."""
        ledger = self._keys.get(key_id)
        if ledger is None or ledger.budget is None:
            return None
        ledger.roll(time.time())
        return ledger

    async def sync(self, keys: list[KeyRecord]) -> None:
        """Bring the ledgers in step with `keys` (the active ones): new budgets and rules read their spend
        from the log, changed ones keep theirs, those of removed keys go.

        A ledger is changed in place, never replaced, while requests are in flight against it: each settles into the
        ledger it was admitted by, so a new period's or a restored budget's ledger would never learn of them (a
        period changed mid-flight let a key spend nearly twice its budget). Ledgers no budget holds any more are kept
        until nothing is reserved against them."""
        now = time.time()
        active = [k for k in keys if k.revoked_at is None]
        load_keys: list[KeyRecord] = []
        for key in active:
            ledger = self._keys.get(key.id)
            if key.spec.budget is None:
                if ledger is not None and ledger.reserved:
                    ledger.budget = None
                else:
                    self._keys.pop(key.id, None)
            elif ledger is None or ledger.period != key.spec.period or ledger.budget is None:
                load_keys.append(key)
            else:
                ledger.budget = key.spec.budget
        rules, load_rules = self._rules_for(active)
        for (group, user), ledger in list(self._users.items()):
            if group in rules:
                ledger.budget = rules[group].budget
            elif ledger.reserved:
                ledger.budget = None
            else:
                del self._users[(group, user)]
        if load_keys or load_rules:
            await self._writer.flush()  # what this process already logged must be in the sums
            # What requests settle while the log is read is not in its sums: added back after.
            restarted = [self._keys[k.id] for k in load_keys if k.id in self._keys]
            restarted += [ledger for (group, _), ledger in self._users.items() if group in load_rules]
            before = {id(ledger): ledger.spent for ledger in restarted}
            spends, alerted, seeds = await asyncio.to_thread(self._read_spend, load_keys, load_rules, now)

            def since_read(ledger: Ledger) -> float:
                return max(0.0, ledger.spent - before.get(id(ledger), ledger.spent))

            for key in load_keys:
                ledger = self._keys.setdefault(key.id, Ledger.open(key.spec.budget, key.spec.period, now))
                _restart(ledger, key.spec.budget, key.spec.period, now, spends[key.id] + since_read(ledger))
                ledger.alerted = alerted[key.id]
            for group, (start, seed) in seeds.items():
                rule = load_rules[group]
                rule.seed_start, rule.seed = start, seed
                for (of_group, user), ledger in self._users.items():
                    if of_group == group:
                        _restart(ledger, rule.budget, rule.period, now, seed.get(user, 0.0) + since_read(ledger))
        self._rules = rules
        ids = {k.id for k in active}
        for key_id in [k for k in self._keys if k not in ids]:
            del self._keys[key_id]

    def _rules_for(self, active: list[KeyRecord]) -> tuple[dict[Group, UserRule], dict[Group, UserRule]]:
        """The per-user rule of each group, and those of them whose spend must be read (new or re-periodized)."""
        wanted: dict[Group, tuple[float, str]] = {}
        default = self._default_rule
        if default is not None:
            wanted[None] = (default.budget, default.period)
        for key in active:
            spec = key.spec
            if spec.user_budget is not None:
                wanted[key.id] = (spec.user_budget, spec.user_period or self._config.user_budget_period)
            elif default is not None:
                wanted[key.id] = (default.budget, default.period)
        rules: dict[Group, UserRule] = {}
        load: dict[Group, UserRule] = {}
        for group, (budget, period) in wanted.items():
            rule = self._rules.get(group)
            if rule is None or rule.period != period:
                rule = load[group] = UserRule(budget, period)
            rule.budget = budget
            rules[group] = rule
        return rules, load

    def _read_spend(
        self, keys: list[KeyRecord], rules: dict[Group, UserRule], now: float
    ) -> tuple[dict[str, float], dict[str, set[int]], dict[Group, tuple[float, dict[str, float]]]]:
        conn = connect(self._db_path, reader=True)
        try:
            spends: dict[str, float] = {}
            alerted: dict[str, set[int]] = {}
            for key in keys:
                start, _ = period_bounds(key.spec.period, now)
                spends[key.id] = spend.key_spend(conn, key.id, start)
                alerted[key.id] = spend.alerts_sent(conn, f"key:{key.id}", start)
            seeds: dict[Group, tuple[float, dict[str, float]]] = {}
            for group, rule in rules.items():
                start, _ = period_bounds(rule.period, now)
                seeds[group] = (start, spend.user_spend(conn, group, start))
            return spends, alerted, seeds
        finally:
            conn.close()


def _restart(ledger: Ledger, budget: float | None, period: str, now: float, spent: float) -> None:
    """`ledger` over a budget's period as the log has it, what requests in flight reserved still held."""
    ledger.budget, ledger.period, ledger.spent = budget, period, spent
    ledger.start, ledger.end = period_bounds(period, now)


def _default_rule(config: LimitsConfig) -> UserRule | None:
    """The per-user budget of users whose key sets none ([limits] user_budget)."""
    return UserRule(config.user_budget, config.user_budget_period) if config.user_budget is not None else None
