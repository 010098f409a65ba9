"""Every dashboard page and its path (under /dashboard)."""

from __future__ import annotations

from nicegui import ui

from helix.web.pages import deployments, key, keys, overview, requests, who

FAVICON = "🧬"
PAGES = [
    ("/", "Helix dashboard", overview.show),
    ("/keys", "Keys · Helix", keys.show),
    ("/key", "Key · Helix", key.show),
    ("/user", "User · Helix", who.user),
    ("/model", "Model · Helix", who.model),
    ("/requests", "Requests · Helix", requests.show),
    ("/request", "Request · Helix", requests.detail),
    ("/deployments", "Deployments · Helix", deployments.show),
]


def register() -> None:
    for path, title, show in PAGES:
        ui.page(path, title=title)(show)
