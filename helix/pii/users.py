"""End-user ids at rest: the `user` field and the `x-helix-user` header are stored as a keyed hash.

`u_` + the first 16 hex digits of HMAC-SHA256(key, raw id): stable for one database (spend and
budgets still group by user), meaningless without the key. The key is `[privacy] user_hash_key`,
or else one Helix generates and keeps in the database (`instance_state`). `[privacy] store_user =
"plain"` stores ids as sent. `helix pii user-id RAW` prints the id a raw user is stored under.
"""

from __future__ import annotations

import secrets

from helix.pii.hashing import keyed_hash
from helix.store.db import Connection
from helix.store.instance import get_or_create

PREFIX = "u_"
KEY_NAME = "user_hash_key"


def user_key(conn: Connection, configured: str | None) -> str:
    """The configured key, or the database's own (created on first use)."""
    if configured:
        return configured
    return get_or_create(conn, KEY_NAME, lambda: secrets.token_hex(32))


class UserIds:
    """Maps a raw end-user id to the id stored in the request log, incidents and budgets."""

    def __init__(self, key: str | None) -> None:
        self._key = key  # None: stored as sent

    def stored(self, raw: str | None) -> str | None:
        if not raw or self._key is None:
            return raw
        return PREFIX + keyed_hash(raw, self._key)[:16]
