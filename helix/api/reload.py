"""POST /admin/reload: re-read helix.toml into the running server (what SIGHUP and `helix reload` do).

Open on a laptop (only this machine can connect), the admin key otherwise. 200 with what changed, or 400
with the one-line reason the file was refused (the running config stays)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from helix.api.admin import admin_or_laptop
from helix.errors import HelixError, InvalidRequest
from helix.gateway import Gateway
from helix.reload import reload


@post("/admin/reload", guards=[admin_or_laptop], status_code=200, include_in_schema=False)
async def reload_config(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    gateway: Gateway = request.app.state.gateway
    if gateway.loader is None:
        raise HelixError("this server was not started from a config file, so it cannot reload one", status=409)
    outcome = await reload(gateway, gateway.loader)
    if not outcome.ok:
        raise InvalidRequest(outcome.message, code="invalid_config")
    if gateway.reload_others is not None:
        gateway.reload_others()
    return Response(
        {
            "status": "reloaded",
            "message": outcome.message,
            "changed": outcome.changed,
            "restart": outcome.restart_needed,
        }
    )


routes = [reload_config]
