"""Authentication: which virtual key a request carries, checked before its body is read.

On a laptop (bound to loopback, no key created yet, `[auth] require_keys` off) any bearer token is
accepted, so the OpenAI SDK works with a one-line change. As soon as a key exists, or when Helix
listens on another address, `/v1/*` needs a valid Helix key: unknown keys get a 401
(`invalid_api_key`), revoked and expired ones too (`key_revoked`, `key_expired`). The token is never
forwarded: providers only ever see their own key.

Keys live in memory by the SHA-256 of the secret. A background task polls `keys_version` every half
second and reloads them when the CLI or the admin API changed something, in this or another process.
The admin key (`[auth] admin_key`) guards `/admin/*`; it is not a virtual key and does not open `/v1`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import ipaddress
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from helix.config import Config
from helix.errors import Unauthorized
from helix.store import keys as key_store
from helix.store.db import Connection, connect
from helix.store.writer import Writer
from helix.virtual_keys import KeyRecord

log = logging.getLogger("helix.auth")

POLL_SECONDS = 0.5
POLL_BUSY_TIMEOUT_MS = 20
TOUCH_SECONDS = 1.0
HOW_TO_GET_ONE = "create one with 'helix keys add NAME' (or POST /admin/keys)"

Listener = Callable[[list[KeyRecord]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def laptop_mode(config: Config) -> bool:
    """Bound to loopback without `[auth] require_keys`: only this machine can connect, so no key is needed
    until one exists (and the dashboard needs no admin key)."""
    return not config.auth.require_keys and is_loopback(config.server.host)


# HTTP's whitespace: a tab after the scheme (as some shells and config templates write it) is read as a space.
_BLANKS = re.compile(r"[ \t]+")


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The key from `Authorization: Bearer ...`, or else from `x-api-key`, where Anthropic's clients send it (also
    when a proxy on the way adds an Authorization header of its own, such as Basic)."""
    scheme, *token = _BLANKS.split(headers.get("authorization", "").strip(), maxsplit=1)
    if scheme.lower() == "bearer" and token:
        return token[0]
    return headers.get("x-api-key", "").strip() or None


def _missing_key(headers: Mapping[str, str]) -> str:
    """Why no key was read: none sent, or an Authorization header of another form (never quoted: it may be a key)."""
    if headers.get("authorization", "").strip():  # and no x-api-key
        return (
            "the Authorization header must read 'Bearer <your Helix key>' (the word Bearer, a space, then the "
            "hx-... key); " + HOW_TO_GET_ONE
        )
    return "missing API key: send your Helix key as 'Authorization: Bearer hx-...'; " + HOW_TO_GET_ONE


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _allow_pattern(models: tuple[str, ...], default_provider: str) -> re.Pattern[str]:
    """One regex for a key's allow-list. A bare name also matches what it resolves to (`default/name`)."""
    patterns = []
    for model in models:
        patterns.append(fnmatch.translate(model))
        if "/" not in model:
            patterns.append(fnmatch.translate(f"{default_provider}/{model}"))
    return re.compile("|".join(patterns))


class KeyRing:
    """The keys a running server accepts, by hash; refreshed from the database when they change."""

    def __init__(self, config: Config, db_path: str | Path, writer: Writer) -> None:
        self._db_path = db_path
        self._writer = writer
        self._default_provider = config.routing.default_provider
        self.always_required = not laptop_mode(config)
        admin = config.auth.admin_key or ""
        self._admin = admin.encode() if admin else None
        self._admin_hash = key_store.hash_secret(admin) if admin else None
        self._by_hash: dict[str, KeyRecord] = {}
        self.by_id: dict[str, KeyRecord] = {}
        self._allow: dict[str, re.Pattern[str]] = {}
        self._touched: dict[str, float] = {}
        self._listeners: list[Listener] = []
        self.version = -1
        self._conn: Connection | None = None
        # Cancelling a reload does not stop its read thread: close() must not pull the connection from under it.
        self._conn_lock = threading.Lock()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # Hot path.

    @property
    def required(self) -> bool:
        return self.always_required or bool(self.by_id)

    def authenticate(self, headers: Mapping[str, str]) -> KeyRecord | None:
        """The key a request carries, None in laptop mode; raises Unauthorized (401) otherwise."""
        if not self.by_id and not self.always_required:
            return None
        token = bearer_token(headers)
        if token is None:
            raise Unauthorized(_missing_key(headers))
        digest = hashlib.sha256(token.encode()).hexdigest()
        key = self._by_hash.get(digest)
        if key is None:
            if digest == self._admin_hash:
                raise Unauthorized(
                    "this is the admin key, which only opens /admin: /v1 needs a virtual key; " + HOW_TO_GET_ONE
                )
            if not self.by_id:
                raise Unauthorized("Helix requires a key here but none exists yet: " + HOW_TO_GET_ONE)
            raise Unauthorized(
                "invalid API key: not a Helix key (Helix never takes provider keys from clients); "
                "ask your Helix admin for a key"
            )
        now = time.time()
        if key.revoked_at is not None:
            raise Unauthorized(
                f"this Helix key ('{key.name}', {key.display}) was revoked on {_when(key.revoked_at)}; "
                "ask for a new one",
                code="key_revoked",
            )
        expires_at = key.spec.expires_at
        if expires_at is not None and now >= expires_at:
            raise Unauthorized(
                f"this Helix key ('{key.name}', {key.display}) expired on {_when(expires_at)}; ask for a new one",
                code="key_expired",
            )
        if now - self._touched.get(key.id, 0.0) >= TOUCH_SECONDS:
            self._touched[key.id] = now
            self._writer.submit(key_store.TOUCH, (now, key.id, now))
        return key

    def allows(self, key: KeyRecord, requested: str, target: str) -> bool:
        """Whether `key` may use the model the client named (`requested`) or resolved to (`target`)."""
        pattern = self._allow.get(key.id)
        return pattern is None or bool(pattern.match(requested) or pattern.match(target))

    def check_admin(self, headers: Mapping[str, str]) -> None:
        if self._admin is None:
            raise Unauthorized(
                "the admin API is off: no admin key is set; set [auth] admin_key in helix.toml "
                "(helix init writes one) or HELIX_AUTH__ADMIN_KEY",
                code="admin_key_not_set",
            )
        token = bearer_token(headers)
        if token is None or not hmac.compare_digest(token.encode(), self._admin):
            raise Unauthorized(
                "the admin API needs the admin key: send 'Authorization: Bearer <[auth] admin_key>'",
                code="invalid_admin_key",
            )

    # Loading.

    def on_change(self, listener: Listener) -> None:
        """Call `listener(keys)` before a new set of keys takes effect (the limits stage loads spend)."""
        self._listeners.append(listener)

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._watch(), name="helix-keys")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await asyncio.to_thread(self._close_connection)

    def _close_connection(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def reload(self) -> bool:
        """Reload the keys if their version changed; True when it did."""
        async with self._lock:
            fresh = await asyncio.to_thread(self._read, self.version)
            if fresh is None:
                return False
            version, keys = fresh
            for listener in self._listeners:
                await listener(keys)
            self._install(version, keys)
            return True

    def _read(self, known: int) -> tuple[int, list[KeyRecord]] | None:
        with self._conn_lock:
            if self._conn is None:
                self._conn = connect(self._db_path, reader=True)
            conn = self._conn
            current = key_store.version(conn)
            if current == known:
                return None
            conn.execute("BEGIN")
            try:
                current = key_store.version(conn)
                return current, key_store.all_keys(conn)
            finally:
                conn.execute("COMMIT")

    def _install(self, version: int, keys: list[KeyRecord]) -> None:
        self._by_hash = {key.hash: key for key in keys}
        self.by_id = {key.id: key for key in keys}
        self._allow = {
            key.id: _allow_pattern(key.spec.models, self._default_provider)
            for key in keys
            if key.spec.models is not None
        }
        if self.version >= 0:
            log.info("keys reloaded: %d active", sum(1 for k in keys if k.revoked_at is None))
        self.version = version

    async def _watch(self) -> None:
        # The poll reads one row on the event loop (microseconds; a thread hop every half second cost more
        # and handed the GIL back and forth); only a changed version loads the keys, in a thread.
        conn = await asyncio.to_thread(
            connect, self._db_path, reader=True, busy_timeout_ms=POLL_BUSY_TIMEOUT_MS, on_loop=True
        )
        try:
            while True:
                await asyncio.sleep(POLL_SECONDS)
                try:
                    if key_store.version(conn) == self.version:
                        continue
                except sqlite3.OperationalError:  # another process holds a long write lock: look next turn
                    continue
                try:
                    await self.reload()
                except Exception:
                    log.exception("reloading keys failed; keeping the previous set")
        finally:
            conn.close()
