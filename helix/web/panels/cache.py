"""The response cache: what it holds and how often it answered, over the last 7 days."""

from __future__ import annotations

from helix.web.format import count, money, rate, size
from helix.web.panels.common import Update, card, facts
from helix.web.snapshot import Snapshot


def _share(s: Snapshot, name: str) -> str:
    """A count and its share of the requests that looked in the cache."""
    return f"{count(s.cache[name])} ({rate(s.cache[name], s.cache['requests'] - s.cache['bypassed'])})"


def build() -> Update:
    with card("Response cache", "7 days"):
        return facts(
            [
                ("entries", lambda s: f"{count(s.cache['entries'])} ({count(s.cache['semantic_entries'])} semantic)"),
                ("size of entries", lambda s: size(s.cache["bytes"])),
                ("chat requests", lambda s: count(s.cache["requests"])),
                ("exact hits", lambda s: _share(s, "exact_hits")),
                ("semantic hits", lambda s: _share(s, "semantic_hits")),
                ("misses", lambda s: _share(s, "misses")),
                ("bypassed", lambda s: count(s.cache["bypassed"])),
                ("saved", lambda s: money(s.cache["saved_usd"])),
            ]
        )
