"""What an admin can change from the dashboard, through the code the CLI and the admin API use (the key store,
the cache store) and, like the admin API, in effect in the running server before the page is told it worked."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from helix.cache import entries as cache_entries
from helix.durations import parse_duration
from helix.store import keys as key_store
from helix.store.db import in_thread
from helix.virtual_keys import KeyProblem, KeyRecord, KeySpec

if TYPE_CHECKING:
    from helix.gateway import Gateway


def amount(text: str, what: str = "budget") -> float | None:
    """'12.50', '$12.50' -> 12.5; blank or 'none' -> None (no limit)."""
    text = text.strip().removeprefix("$")
    if text.lower() in ("", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise KeyProblem(f"the {what} '{text}' is not an amount in USD (leave it empty for none)") from None


def whole(text: str, what: str) -> int | None:
    text = text.strip()
    if text.lower() in ("", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        raise KeyProblem(f"{what} '{text}' is not a whole number (leave it empty for no limit)") from None


def expiry(text: str) -> float | None:
    text = text.strip()
    if text.lower() in ("", "never"):
        return None
    try:
        return time.time() + parse_duration(text)
    except ValueError as exc:
        raise KeyProblem(f"expiry: {exc}") from None


class Actions:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def create_key(self, name: str, spec: KeySpec) -> tuple[KeyRecord, str]:
        created = await in_thread(self.gateway.db_path, lambda conn: key_store.create(conn, name, spec))
        await self.gateway.keys.reload()
        return created

    async def revoke_key(self, name: str) -> KeyRecord:
        record = await in_thread(self.gateway.db_path, lambda conn: key_store.revoke(conn, name))
        await self.gateway.keys.reload()
        return record

    async def rotate_key(self, name: str) -> tuple[KeyRecord, str]:
        rotated = await in_thread(self.gateway.db_path, lambda conn: key_store.rotate(conn, name))
        await self.gateway.keys.reload()
        return rotated

    async def set_budget(self, name: str, budget: float | None, period: str) -> KeyRecord:
        changes = {"budget": budget, "period": period}
        record = await in_thread(self.gateway.db_path, lambda conn: key_store.update(conn, name, changes))
        await self.gateway.keys.reload()
        return record

    async def clear_cache(self, model: str | None) -> int:
        deleted = await in_thread(self.gateway.db_path, lambda conn: cache_entries.clear(conn, model, None))
        if self.gateway.cache is not None:
            self.gateway.cache.forget()  # at once, not at the next poll of the cache generation
        return deleted
