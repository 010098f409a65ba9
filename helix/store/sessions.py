"""Dashboard login sessions in the SQLite file: only a hash of each session token is stored, so a copy of
the database cannot be replayed as a cookie. Logging out deletes the row; expired rows are purged on login."""

from __future__ import annotations

import hashlib
import secrets
import time

from helix.store.db import Connection


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, ttl_seconds: float, now: float | None = None) -> tuple[str, float]:
    """A new session: its token (for the cookie, never stored) and when it expires."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    conn.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (now,))
    conn.execute(
        "INSERT INTO dashboard_sessions (token_hash, created_at, expires_at) VALUES (?, ?, ?)",
        (token_hash(token), now, now + ttl_seconds),
    )
    return token, now + ttl_seconds


def expiry(conn: Connection, token: str, now: float | None = None) -> float | None:
    """When the session expires; None if there is no such live session."""
    now = time.time() if now is None else now
    row = conn.execute(
        "SELECT expires_at FROM dashboard_sessions WHERE token_hash = ? AND expires_at > ?", (token_hash(token), now)
    ).fetchone()
    return None if row is None else float(row[0])


def revoke(conn: Connection, token: str) -> bool:
    return conn.execute("DELETE FROM dashboard_sessions WHERE token_hash = ?", (token_hash(token),)).rowcount > 0
