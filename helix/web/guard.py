"""Who may open the dashboard.

[auth] admin_key set            the admin key: a session cookie from the login page (an HMAC of the key,
                                never the key itself) or `Authorization: Bearer <admin key>`
no admin key, laptop mode       open: only this machine can connect (the rule /v1 uses, helix.pipeline.auth)
no admin key, any other host    closed: 403, saying to set [auth] admin_key
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal

from helix.config import Config
from helix.pipeline.auth import bearer_token, laptop_mode

Access = Literal["login", "open", "closed"]
PREFIX = "/dashboard"
LOGIN = PREFIX + "/login"
LOGOUT = PREFIX + "/logout"
COOKIE = "helix_dashboard"
CLOSED_MESSAGE = (
    "the dashboard needs an admin key when Helix listens beyond this machine: set [auth] admin_key in helix.toml "
    "(helix init writes one) or HELIX_AUTH__ADMIN_KEY"
)

NOTES: dict[Access, str] = {
    "login": "log in with [auth] admin_key",
    "open": "open to this machine only; set [auth] admin_key to require a login",
    "closed": "refused on this address until [auth] admin_key is set",
}


def access(config: Config) -> Access:
    if config.auth.admin_key:
        return "login"
    return "open" if laptop_mode(config) else "closed"


def session_token(admin_key: str) -> str:
    """The session cookie's value: stable for one admin key (no server-side sessions), useless for /admin."""
    return hmac.new(admin_key.encode(), b"helix dashboard session", hashlib.sha256).hexdigest()


class Guard:
    def __init__(self, admin_key: str) -> None:
        self._key = admin_key.encode()
        self.session = session_token(admin_key)
        self._session = self.session.encode()

    def is_admin_key(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._key)

    def allows(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """A valid session cookie or the admin key as a bearer token, in raw ASGI headers."""
        for name, value in headers:
            if name == b"cookie" and self._has_session(value):
                return True
            if name == b"authorization":
                token = bearer_token({"authorization": value.decode("latin-1")})
                if token is not None and self.is_admin_key(token):
                    return True
        return False

    def _has_session(self, header: bytes) -> bool:
        for part in header.split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == COOKIE.encode() and hmac.compare_digest(value, self._session):
                return True
        return False
