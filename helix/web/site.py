"""What a page may use of the dashboard that serves it. The dispatcher (`mount.py`) puts its dashboard in
each request's scope; pages see it through this protocol, so they do not import the module that mounts
them."""

from __future__ import annotations

from typing import Any, Protocol

from helix.web.actions import Actions
from helix.web.feed import Feed
from helix.web.guard import Access, Guard


class Site(Protocol):
    access: Access
    actions: Actions
    feed: Feed
    guard: Guard | None

    def deployments(self) -> dict[str, dict[str, Any]]:
        """Each configured deployment's routing state now (what /health/ready reports)."""
        ...
