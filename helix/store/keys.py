"""Virtual keys in the SQLite file, shared by the CLI, the admin API and the server.

Only a SHA-256 hash of each key is stored (a key carries 256 random bits, so a plain hash is enough),
plus a short display prefix (`hx-AbCdE…`). Names are unique among keys that are not revoked; a
revoked key stays in the table so its spend keeps its name and a client using it is told it was
revoked. Every change to a key's settings bumps `keys_version` (a trigger), which a running server
polls to pick up changes made by another process.

Spend is not stored per key: it is the sum of `requests.cost_usd` over the key's budget period.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from helix.durations import MAX_SECONDS
from helix.quota.periods import PERIODS, period_bounds

KEY_PREFIX = "hx-"
ADMIN_KEY_PREFIX = "hxa-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,63}$")

TOUCH = "UPDATE keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)"
RECORD_ALERT = (
    "INSERT OR IGNORE INTO budget_alerts (subject, period_start, threshold, ts, spent_usd, budget_usd, delivered)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
ALERT_DELIVERED = "UPDATE budget_alerts SET delivered = ? WHERE subject = ? AND period_start = ? AND threshold = ?"


# Beyond these a limit means "none" anyway; bounded so every value fits SQLite's integers and the UI.
MAX_RATE = 10**12
MAX_BUDGET_USD = 1e12


class KeyProblem(ValueError):
    """A request about keys that cannot be done; the message says why, in one line."""


class KeyNotFound(KeyProblem):
    pass


class KeyExists(KeyProblem):
    pass


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    name: str
    hash: str = field(repr=False)
    prefix: str
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    rotated_at: float | None = None
    last_used_at: float | None = None
    budget: float | None = None
    period: str = "total"
    user_budget: float | None = None
    user_period: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    models: tuple[str, ...] | None = None

    @property
    def display(self) -> str:
        return self.prefix + "…"

    def status(self, now: float | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and (now or time.time()) >= self.expires_at:
            return "expired"
        return "active"

    def to_json(self) -> dict[str, Any]:
        """Everything but the hash, for the admin API."""
        return {
            "id": self.id,
            "name": self.name,
            "key_prefix": self.display,
            "status": self.status(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "rotated_at": self.rotated_at,
            "last_used_at": self.last_used_at,
            "budget_usd": self.budget,
            "budget_period": self.period,
            "user_budget_usd": self.user_budget,
            "user_budget_period": self.user_period,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "models": list(self.models) if self.models is not None else None,
        }


@dataclass(frozen=True, slots=True)
class KeySpec:
    """The settings of a key; None means no limit."""

    budget: float | None = None
    period: str = "total"
    user_budget: float | None = None
    user_period: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    models: tuple[str, ...] | None = None
    expires_at: float | None = None

    def check(self, now: float | None = None) -> KeySpec:
        if self.budget is not None and (self.budget < 0 or not math.isfinite(self.budget)):
            raise KeyProblem("the budget must be a positive amount of USD")
        if self.user_budget is not None and (self.user_budget < 0 or not math.isfinite(self.user_budget)):
            raise KeyProblem("the per-user budget must be a positive amount of USD")
        for label, period in (("period", self.period), ("user period", self.user_period)):
            if period is not None and period not in PERIODS:
                raise KeyProblem(f"unknown budget {label} '{period}': use one of {', '.join(PERIODS)}")
        for label, budget in (("budget", self.budget), ("per-user budget", self.user_budget)):
            if budget is not None and budget > MAX_BUDGET_USD:
                raise KeyProblem(f"the {label} must be at most ${MAX_BUDGET_USD:,.0f} (leave it out for no limit)")
        for label, limit in (("rpm", self.rpm), ("tpm", self.tpm)):
            if limit is not None and not 1 <= limit <= MAX_RATE:
                raise KeyProblem(f"{label} must be from 1 to {MAX_RATE:,} (leave it out for no limit)")
        if self.models is not None and not self.models:
            raise KeyProblem("the model list is empty: name models like gpt-4o-mini,anthropic/*")
        if self.expires_at is not None and self.expires_at <= (now or time.time()):
            raise KeyProblem("the expiry is in the past")
        if self.expires_at is not None and self.expires_at > (now or time.time()) + MAX_SECONDS:
            raise KeyProblem("the expiry is more than 100 years away: leave it out for a key that never expires")
        return self


def parse_models(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """`gpt-4o-mini, anthropic/*` -> ('gpt-4o-mini', 'anthropic/*'); empty or '*' -> None (any model)."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    models = tuple(dict.fromkeys(item.strip() for item in items if item and item.strip()))
    if not models:
        raise KeyProblem("the model list is empty: name models like gpt-4o-mini,anthropic/*")
    return None if "*" in models else models


def new_secret(prefix: str = KEY_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _display_prefix(secret: str) -> str:
    return secret[: len(KEY_PREFIX) + 5]


_COLUMNS = (
    "id, name, hash, prefix, created_at, expires_at, revoked_at, rotated_at, last_used_at, budget_usd,"
    " budget_period, user_budget_usd, user_budget_period, rpm, tpm, models"
)


def _record(row: Sequence[Any]) -> KeyRecord:
    models = row[15]
    return KeyRecord(
        id=row[0],
        name=row[1],
        hash=row[2],
        prefix=row[3],
        created_at=row[4],
        expires_at=row[5],
        revoked_at=row[6],
        rotated_at=row[7],
        last_used_at=row[8],
        budget=row[9],
        period=row[10],
        user_budget=row[11],
        user_period=row[12],
        rpm=row[13],
        tpm=row[14],
        models=tuple(models.split(",")) if models else None,
    )


def _models_column(models: tuple[str, ...] | None) -> str | None:
    return ",".join(models) if models else None


def all_keys(conn: sqlite3.Connection) -> list[KeyRecord]:
    """Every key, revoked ones included (the server tells their holders they were revoked)."""
    return [_record(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM keys ORDER BY created_at")]


def list_keys(conn: sqlite3.Connection, include_revoked: bool = False) -> list[KeyRecord]:
    keys = all_keys(conn)
    return keys if include_revoked else [k for k in keys if k.revoked_at is None]


def find(conn: sqlite3.Connection, name: str) -> KeyRecord:
    """The active key called `name`, else the most recently revoked one."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM keys WHERE name = ? ORDER BY revoked_at IS NOT NULL, revoked_at DESC LIMIT 1",
        (name,),
    ).fetchone()
    if row is None:
        raise KeyNotFound(f"no key named '{name}' (see 'helix keys list')")
    return _record(row)


def _active(conn: sqlite3.Connection, name: str) -> KeyRecord:
    key = find(conn, name)
    if key.revoked_at is not None:
        raise KeyProblem(f"key '{name}' is revoked; create a new one with 'helix keys add {name}'")
    return key


def version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT version FROM keys_version WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def create(conn: sqlite3.Connection, name: str, spec: KeySpec, now: float | None = None) -> tuple[KeyRecord, str]:
    """Create a key; returns its record and the secret, which is never stored and cannot be shown again."""
    now = time.time() if now is None else now
    name = name.strip()
    if not _NAME.match(name):
        raise KeyProblem(
            f"'{name}' is not a usable key name: 1-64 letters, digits and . _ @ : + -, starting with a letter or digit"
        )
    spec.check(now)
    secret = new_secret()
    record = KeyRecord(
        id="key_" + secrets.token_hex(6),
        name=name,
        hash=hash_secret(secret),
        prefix=_display_prefix(secret),
        created_at=now,
        expires_at=spec.expires_at,
        budget=spec.budget,
        period=spec.period,
        user_budget=spec.user_budget,
        user_period=spec.user_period,
        rpm=spec.rpm,
        tpm=spec.tpm,
        models=spec.models,
    )
    try:
        conn.execute(
            f"INSERT INTO keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.name,
                record.hash,
                record.prefix,
                record.created_at,
                record.expires_at,
                record.budget,
                record.period,
                record.user_budget,
                record.user_period,
                record.rpm,
                record.tpm,
                _models_column(record.models),
            ),
        )
    except sqlite3.IntegrityError:
        raise KeyExists(
            f"a key named '{name}' already exists: pick another name, or 'helix keys rotate {name}' for a new secret"
        ) from None
    return record, secret


def revoke(conn: sqlite3.Connection, name: str, now: float | None = None) -> KeyRecord:
    key = _active(conn, name)
    now = time.time() if now is None else now
    conn.execute("UPDATE keys SET revoked_at = ? WHERE id = ?", (now, key.id))
    return replace(key, revoked_at=now)


def rotate(conn: sqlite3.Connection, name: str, now: float | None = None) -> tuple[KeyRecord, str]:
    """A new secret for the same key: the old one stops working at once; budget, spend and limits stay."""
    key = _active(conn, name)
    now = time.time() if now is None else now
    secret = new_secret()
    updated = replace(key, hash=hash_secret(secret), prefix=_display_prefix(secret), rotated_at=now)
    conn.execute(
        "UPDATE keys SET hash = ?, prefix = ?, rotated_at = ? WHERE id = ?",
        (updated.hash, updated.prefix, now, key.id),
    )
    return updated, secret


_UPDATABLE = {
    "budget": "budget_usd",
    "period": "budget_period",
    "user_budget": "user_budget_usd",
    "user_period": "user_budget_period",
    "rpm": "rpm",
    "tpm": "tpm",
    "models": "models",
    "expires_at": "expires_at",
}


def update(conn: sqlite3.Connection, name: str, changes: dict[str, Any], now: float | None = None) -> KeyRecord:
    """Change some settings of an active key (`changes` maps KeySpec field names to new values)."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise KeyProblem(f"cannot change {', '.join(sorted(unknown))} of a key")
    key = _active(conn, name)
    updated = replace(key, **changes)
    KeySpec(
        budget=updated.budget,
        period=updated.period,
        user_budget=updated.user_budget,
        user_period=updated.user_period,
        rpm=updated.rpm,
        tpm=updated.tpm,
        models=updated.models,
        expires_at=updated.expires_at if "expires_at" in changes else None,
    ).check(now)
    if not changes:
        return key
    columns = ", ".join(f"{_UPDATABLE[field]} = ?" for field in changes)
    values = [_models_column(v) if f == "models" else v for f, v in changes.items()]
    conn.execute(f"UPDATE keys SET {columns} WHERE id = ?", (*values, key.id))
    return updated


# Spend, read from the request log.


def key_spend(conn: sqlite3.Connection, key_id: str, since: float) -> float:
    row = conn.execute(
        "SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE key_id = ? AND ts >= ?", (key_id, since)
    ).fetchone()
    return float(row[0])


def user_spend(conn: sqlite3.Connection, key_id: str | None, since: float) -> dict[str, float]:
    """Spend per end user of one key (None: requests made without a key) since `since`."""
    rows = conn.execute(
        "SELECT user, sum(cost_usd) FROM requests WHERE key_id IS ? AND user IS NOT NULL AND ts >= ? GROUP BY user",
        (key_id, since),
    )
    return {row[0]: float(row[1] or 0) for row in rows}


def alerts_sent(conn: sqlite3.Connection, subject: str, period_start: float) -> set[int]:
    rows = conn.execute(
        "SELECT threshold FROM budget_alerts WHERE subject = ? AND period_start = ?", (subject, period_start)
    )
    return {int(row[0]) for row in rows}


def report(conn: sqlite3.Connection, keys: Iterable[KeyRecord], now: float | None = None) -> list[dict[str, Any]]:
    """Each key with its spend and request count over its current budget period, for lists and dashboards."""
    now = time.time() if now is None else now
    rows = []
    for key in keys:
        start, end = period_bounds(key.period, now)
        spent, requests = conn.execute(
            "SELECT coalesce(sum(cost_usd), 0), count(*) FROM requests WHERE key_id = ? AND ts >= ?",
            (key.id, start),
        ).fetchone()
        rows.append(
            {
                **key.to_json(),
                "status": key.status(now),
                "spent_usd": float(spent),
                "requests": int(requests),
                "period_start": start,
                "period_end": None if math.isinf(end) else end,
                "budget_used": (float(spent) / key.budget) if key.budget else None,
            }
        )
    return rows


def top_users(conn: sqlite3.Connection, key_id: str, since: float, limit: int = 10) -> list[dict[str, Any]]:
    cursor = conn.execute(
        "SELECT user, count(*) AS requests, coalesce(sum(cost_usd), 0) AS spent_usd FROM requests"
        " WHERE key_id = ? AND ts >= ? AND user IS NOT NULL GROUP BY user ORDER BY spent_usd DESC, requests DESC"
        " LIMIT ?",
        (key_id, since, limit),
    )
    return [{"user": row[0], "requests": row[1], "spent_usd": float(row[2])} for row in cursor]
