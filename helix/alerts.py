"""Budget alerts: a webhook when a key crosses a share of its budget (by default 80% and 100%).

Each alert is recorded in `budget_alerts` (so a restart does not send it again) and, when
`[alerts] webhook_url` is set, POSTed as JSON by a background task: retried with exponential backoff
on network errors, 429s and 5xx, logged either way, never awaited by a request. The payload carries a
`text` field, so a Slack (or Mattermost, Discord `/slack`) incoming webhook shows it as a message,
and the details under `helix` for anything else.

Instances sharing a database (PostgreSQL) each see a threshold crossed; the one whose row lands first
(`spend.claim_alert`) sends the webhook, the others only log it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from helix.config import AlertsConfig
from helix.dburl import PostgresUrl
from helix.format import money
from helix.periods import ADJECTIVE
from helix.quota.ledger import Ledger
from helix.store import spend
from helix.store.db import in_thread
from helix.store.spend import ALERT_DELIVERED, RECORD_ALERT
from helix.store.writer import Writer
from helix.virtual_keys import KeyRecord

log = logging.getLogger("helix.alerts")

FIRST_RETRY_SECONDS = 0.5
CLOSE_GRACE_SECONDS = 2.0


def _iso(ts: float | None) -> str | None:
    if ts is None or math.isinf(ts):
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class Alerts:
    def __init__(self, config: AlertsConfig, writer: Writer, shared: PostgresUrl | None = None) -> None:
        self.url = config.webhook_url or None
        self._shared = shared
        self.thresholds = sorted(set(config.thresholds))
        self._config = config
        self._writer = writer
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.delivered = 0
        self.failed = 0

    def crossed(self, used: float, already: set[int]) -> int | None:
        """The highest threshold (percent) that `used` (a fraction) reached and that was not sent yet."""
        reached = [t for t in self.thresholds if used * 100 >= t and t not in already]
        return reached[-1] if reached else None

    def budget_reached(self, key: KeyRecord, ledger: Ledger, used: float, refusing: bool = False) -> None:
        """Announce the highest threshold `used` (a fraction of the key's budget) reached that was not yet."""
        if ledger.alerted is None or ledger.budget is None:
            return
        budget = ledger.budget
        if ledger.alerted_for != budget:
            # A budget changed since: what was announced counts only where the spend is past it still (a raised budget's
            # 80% and 100% are announced when crossed). Asked once a budget, or every refusal re-announced its 100%.
            ledger.alerted.intersection_update({t for t in ledger.alerted if ledger.spent * 100 >= budget * t})
            ledger.alerted_for = budget
        threshold = self.crossed(used, ledger.alerted)
        if threshold is None:
            return
        ledger.alerted.update(t for t in self.thresholds if t <= threshold)
        self._send(key, ledger, ledger.budget, threshold, refusing)

    def budget_refused(self, key: KeyRecord, ledger: Ledger) -> None:
        """A request refused by the key's budget: announced as the budget reached once the spend is past the last
        threshold below 100% (one request too large for what is left, early in the period, says nothing of the key's
        spend: it was "requests are now refused" at 9%, and the real crossings were never announced after it)."""
        below = [t for t in self.thresholds if t < 100]
        if ledger.budget and ledger.spent * 100 >= ledger.budget * (below[-1] if below else 0):
            self.budget_reached(key, ledger, 1.0, refusing=True)

    def _send(self, key: KeyRecord, ledger: Ledger, budget: float, threshold: int, refusing: bool) -> None:
        """Record the alert and send it in the background. Never blocks, never raises."""
        now = time.time()
        subject, spent, period, period_start = f"key:{key.id}", ledger.spent, ledger.period, ledger.start
        record = (subject, period_start, threshold, now, spent, budget, None if self.url else 0)
        if self._shared is None:
            self._writer.submit(RECORD_ALERT, record)
        share = spent / budget if budget else 1.0
        text = (
            f"Helix key '{key.name}' has used {share:.0%} of its {ADJECTIVE.get(period, period)} budget "
            f"(${spent:,.4f} of {money(budget)})"
        )
        if refusing or share >= 1:
            text += ": requests are now refused until the budget is raised or resets."
        log.warning("%s", text)
        if not self.url and self._shared is None:
            return
        payload: dict[str, Any] = {
            "text": text,
            "helix": {
                "event": "budget_threshold",
                "threshold_percent": threshold,
                "refusing": refusing or share >= 1,
                "key": {"id": key.id, "name": key.name, "prefix": key.display},
                "spent_usd": round(spent, 8),
                "budget_usd": budget,
                "period": period,
                "period_start": _iso(period_start),
                "period_end": _iso(ledger.end),
                "at": _iso(now),
            },
        }
        alert = (subject, period_start, threshold)
        work = self._deliver(payload, alert) if self._shared is None else self._claim(record, payload, alert)
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim(self, record: tuple[Any, ...], payload: dict[str, Any], alert: tuple[str, float, int]) -> None:
        assert self._shared is not None
        try:
            claimed = await in_thread(self._shared, lambda conn: spend.claim_alert(conn, record))
        except sqlite3.Error as exc:
            log.error("could not record a budget alert: %s", exc)
            return
        if claimed and self.url:
            await self._deliver(payload, alert)

    async def _deliver(self, payload: dict[str, Any], alert: tuple[str, float, int]) -> None:
        assert self.url is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._config.timeout)
        delay = FIRST_RETRY_SECONDS
        attempts = self._config.retries + 1
        problem = ""
        for attempt in range(1, attempts + 1):
            retryable = True
            try:
                response = await self._client.post(self.url, json=payload, headers=self._config.headers)
                if response.status_code < 300:
                    self.delivered += 1
                    self._writer.submit(ALERT_DELIVERED, (1, *alert))
                    log.info("budget alert sent to the webhook (%d%%)", alert[2])
                    return
                problem = f"HTTP {response.status_code}"
                retryable = response.status_code == 429 or response.status_code >= 500
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if not retryable or attempt == attempts:
                break
            log.warning("budget alert webhook failed (%s); retry %d in %.1fs", problem, attempt, delay)
            await asyncio.sleep(delay)
            delay *= 2
        self.failed += 1
        self._writer.submit(ALERT_DELIVERED, (0, *alert))
        log.error("budget alert webhook failed (%s); gave up after %d attempt(s)", problem, attempt)

    async def close(self) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=CLOSE_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
