"""Virtual keys in the SQLite file, shared by the CLI, the admin API and the server.

Only a SHA-256 hash of each key is stored (a key carries 256 random bits, so a plain hash is enough),
plus a short display prefix (`hx-AbCdE…`). Names are unique among keys that are not revoked; a
revoked key stays in the table so its spend keeps its name and a client using it is told it was
revoked. Every change to a key's settings bumps `keys_version` (a trigger), which a running server
polls to pick up changes made by another process.

Spend is not stored per key: it is read from the request log (`helix/store/spend.py`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from helix.store.db import Connection
from helix.virtual_keys import KeyExists, KeyNotFound, KeyProblem, KeyRecord, KeySpec

KEY_PREFIX = "hx-"
ADMIN_KEY_PREFIX = "hxa-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,63}$")

TOUCH = "UPDATE keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)"


def new_secret(prefix: str = KEY_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _display_prefix(secret: str) -> str:
    return secret[: len(KEY_PREFIX) + 5]


_IDENTITY = ("id", "name", "hash", "prefix", "created_at", "revoked_at", "rotated_at", "last_used_at")
_SETTINGS = KeySpec.columns()
_COLUMNS = ", ".join((*_IDENTITY, *_SETTINGS.values()))


def _record(row: sqlite3.Row) -> KeyRecord:
    settings = {name: row[column] for name, column in _SETTINGS.items()}
    settings["models"] = tuple(settings["models"].split(",")) if settings["models"] else None
    return KeyRecord(**{name: row[name] for name in _IDENTITY}, spec=KeySpec(**settings))


def _column_value(name: str, value: Any) -> Any:
    return (",".join(value) if value else None) if name == "models" else value


def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    cursor = conn.execute(sql, params)
    cursor.row_factory = sqlite3.Row  # by column name, whatever the connection's factory
    return cursor.fetchall()


def all_keys(conn: Connection) -> list[KeyRecord]:
    """Every key, revoked ones included (the server tells their holders they were revoked)."""
    return [_record(row) for row in _rows(conn, f"SELECT {_COLUMNS} FROM keys ORDER BY created_at")]


def list_keys(conn: Connection, include_revoked: bool = False) -> list[KeyRecord]:
    keys = all_keys(conn)
    return keys if include_revoked else [k for k in keys if k.revoked_at is None]


def _shown(name: str) -> str:
    """A key name as an error quotes it: as given when it could be one; else escaped and cut, so that an admin API
    client sent a name of 10 KB or of control characters gets neither back."""
    if _NAME.match(name):
        return f"'{name}'"
    escaped = ascii(name[:80])
    return escaped if len(escaped) <= 80 else f"{escaped[:76]}...'"


def find(conn: Connection, name: str) -> KeyRecord:
    """The active key called `name`, else the most recently revoked one."""
    rows = _rows(
        conn,
        f"SELECT {_COLUMNS} FROM keys WHERE name = ? ORDER BY revoked_at IS NOT NULL, revoked_at DESC LIMIT 1",
        (name,),
    )
    if not rows:
        raise KeyNotFound(f"no key named {_shown(name)} (see 'helix keys list')")
    return _record(rows[0])


def _active(conn: Connection, name: str) -> KeyRecord:
    key = find(conn, name)
    if key.revoked_at is not None:
        raise KeyProblem(f"key '{name}' is revoked; create a new one with 'helix keys add {name}'")
    return key


def version(conn: Connection) -> int:
    row = conn.execute("SELECT version FROM keys_version WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def create(conn: Connection, name: str, spec: KeySpec, now: float | None = None) -> tuple[KeyRecord, str]:
    """Create a key; returns its record and the secret, which is never stored and cannot be shown again."""
    now = time.time() if now is None else now
    name = name.strip()
    if not _NAME.match(name):
        raise KeyProblem(
            f"{_shown(name)} is not a usable key name: 1-64 letters, digits and . _ @ : + -, starting with a letter or "
            "digit"
        )
    spec.check(now)
    secret = new_secret()
    record = KeyRecord(
        id="key_" + secrets.token_hex(6),
        name=name,
        hash=hash_secret(secret),
        prefix=_display_prefix(secret),
        created_at=now,
        spec=spec,
    )
    identity = ("id", "name", "hash", "prefix", "created_at")
    columns = (*identity, *_SETTINGS.values())
    values = (*(getattr(record, n) for n in identity), *(_column_value(n, getattr(spec, n)) for n in _SETTINGS))
    try:
        conn.execute(f"INSERT INTO keys ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", values)
    except sqlite3.IntegrityError:
        raise KeyExists(
            f"a key named '{name}' already exists: pick another name, or 'helix keys rotate {name}' for a new secret"
        ) from None
    return record, secret


def revoke(conn: Connection, name: str, now: float | None = None) -> KeyRecord:
    key = _active(conn, name)
    now = time.time() if now is None else now
    conn.execute("UPDATE keys SET revoked_at = ? WHERE id = ?", (now, key.id))
    return replace(key, revoked_at=now)


def rotate(conn: Connection, name: str, now: float | None = None) -> tuple[KeyRecord, str]:
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


def update(conn: Connection, name: str, changes: dict[str, Any], now: float | None = None) -> KeyRecord:
    """Change some settings of an active key (`changes` maps KeySpec field names to new values)."""
    unknown = set(changes) - set(_SETTINGS)
    if unknown:
        raise KeyProblem(f"cannot change {', '.join(sorted(unknown))} of a key")
    key = _active(conn, name)
    spec = replace(key.spec, **changes)
    # An expiry already passed is not this change's fault: check the one being set, if any.
    replace(spec, expires_at=spec.expires_at if "expires_at" in changes else None).check(now)
    if not changes:
        return key
    columns = ", ".join(f"{_SETTINGS[name]} = ?" for name in changes)
    values = [_column_value(name, value) for name, value in changes.items()]
    conn.execute(f"UPDATE keys SET {columns} WHERE id = ?", (*values, key.id))
    return replace(key, spec=spec)
