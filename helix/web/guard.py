"""Who may open the dashboard.

[auth] admin_key set            a session from the login page (a random token in the cookie, its hash in the
                                SQLite file, ended server-side by logging out or by [dashboard] session_ttl),
                                or `Authorization: Bearer <admin key>`
no admin key, laptop mode       open: only this machine can connect (the rule /v1 uses, helix.pipeline.auth)
no admin key, any other host    closed: 403, saying to set [auth] admin_key

Whatever the access, a state-changing request (a form post, NiceGUI's socket) must come from the dashboard's
own origin when the browser names one: another site cannot act with the admin's cookie (CSRF). The cookie
is also SameSite=Strict.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from typing import Literal
from urllib.parse import urlsplit

from helix.config import Config
from helix.dburl import Location
from helix.pipeline.auth import bearer_token, laptop_mode
from helix.store import sessions
from helix.store.db import in_thread

Access = Literal["login", "open", "closed"]
PREFIX = "/dashboard"
LOGIN = PREFIX + "/login"
LOGOUT = PREFIX + "/logout"
COOKIE = "helix_dashboard"
CLOSED_MESSAGE = (
    "the dashboard needs an admin key when Helix listens beyond this machine: set [auth] admin_key in helix.toml "
    "(helix init writes one) or HELIX_AUTH__ADMIN_KEY"
)
CROSS_SITE_MESSAGE = "refused: this request to the dashboard comes from another site (Origin does not match Host)"

NOTES: dict[Access, str] = {
    "login": "log in with [auth] admin_key",
    "open": "open to this machine only; set [auth] admin_key to require a login",
    "closed": "refused on this address until [auth] admin_key is set",
}


def access(config: Config) -> Access:
    if config.auth.admin_key:
        return "login"
    return "open" if laptop_mode(config) else "closed"


def same_origin(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """False only when the browser says the request comes from another site than the one it is sent to."""
    values = dict(headers)
    origin = values.get(b"origin")
    hosts = {values[name].decode("latin-1").lower() for name in (b"host", b"x-forwarded-host") if name in values}
    if origin is None or not hosts:
        return True  # not a cross-site browser request: browsers send Origin with posts and sockets
    return urlsplit(origin.decode("latin-1")).netloc.lower() in hosts


def cookie_value(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name != b"cookie":
            continue
        for part in value.split(b";"):
            key, _, token = part.strip().partition(b"=")
            if key == COOKIE.encode() and token:
                return token.decode("latin-1")
    return None


class Sessions:
    """Live login sessions: answered from memory, from the SQLite file after a restart."""

    def __init__(self, db_path: Location, ttl_seconds: float) -> None:
        self.db_path = db_path
        self.ttl_seconds = ttl_seconds
        self._expiry: dict[str, float] = {}  # token hash -> expires_at

    async def start(self) -> tuple[str, float]:
        token, expires = await in_thread(self.db_path, lambda conn: sessions.create(conn, self.ttl_seconds))
        self._expiry[sessions.token_hash(token)] = expires
        return token, expires

    async def is_live(self, token: str) -> bool:
        key = sessions.token_hash(token)
        expires = self._expiry.get(key)
        if expires is None:
            expires = await in_thread(self.db_path, lambda conn: sessions.expiry(conn, token))
            if expires is None:
                return False
            self._expiry[key] = expires
        if expires > time.time():
            return True
        self._expiry.pop(key, None)
        return False

    def known_live(self, token: str) -> bool:
        """For pages already open: the session still exists (no database read)."""
        return self._expiry.get(sessions.token_hash(token), 0.0) > time.time()

    async def end(self, token: str) -> None:
        self._expiry.pop(sessions.token_hash(token), None)
        await in_thread(self.db_path, lambda conn: sessions.revoke(conn, token))


class Guard:
    def __init__(self, admin_key: str, sessions: Sessions) -> None:
        self._key = admin_key.encode()
        self.sessions = sessions

    def is_admin_key(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._key)

    async def allows(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """A live session cookie or the admin key as a bearer token, in raw ASGI headers."""
        headers = list(headers)
        for name, value in headers:
            if name == b"authorization":
                token = bearer_token({"authorization": value.decode("latin-1")})
                if token is not None and self.is_admin_key(token):
                    return True
        session = cookie_value(headers)
        return session is not None and await self.sessions.is_live(session)
