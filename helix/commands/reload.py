"""`helix reload`: have the running server re-read helix.toml (as SIGHUP does), and say what changed."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from helix.commands.common import ConfigOption, console, fail
from helix.config import RELOAD_REFUSED, ConfigError, load_config
from helix.pipeline.auth import is_loopback


def reload(
    config: ConfigOption = None,
    url: Annotated[
        str | None, typer.Option(help="The server's address (default: from [server] host and port).")
    ] = None,
) -> None:
    """Re-read helix.toml in the running server: routing, prices, PII, cache and limits change at once."""
    try:  # the server reads the same file: an invalid one is refused here already, in the same words
        cfg = load_config(config)
    except ConfigError as exc:
        raise fail(f"{RELOAD_REFUSED}: {exc}") from None
    host, given = cfg.server.host, url is not None
    if url is None:
        host = "127.0.0.1" if host in ("0.0.0.0", "::") or is_loopback(host) else host
        url = f"http://{'[' + host + ']' if ':' in host else host}:{cfg.server.port}"
    headers = {"authorization": f"Bearer {cfg.auth.admin_key}"} if cfg.auth.admin_key else {}
    try:
        response = httpx.post(f"{url.rstrip('/')}/admin/reload", headers=headers, timeout=30)
    except httpx.TransportError as exc:
        hint = (
            ""
            if given
            else " (the address is the file's [server] host and port: if they changed since the server started, pass"
            " --url with the address it runs at; the change itself takes a restart)"
        )
        raise fail(f"cannot reach Helix at {url} ({exc}); is `helix serve` running?{hint}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
        raise fail(message or f"{url} answered HTTP {response.status_code}")
    console.print(body.get("message", "config reloaded"), highlight=False, markup=False)
