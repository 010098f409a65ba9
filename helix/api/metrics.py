"""/metrics: Prometheus text format. Open on a laptop (only this machine can connect), the admin key otherwise."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from helix.api.admin import admin_or_laptop
from helix.api.responses import get_route
from helix.gateway import Gateway
from helix.metrics import CONTENT_TYPE


@get_route("/metrics", guards=[admin_or_laptop], include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    gateway: Gateway = request.app.state.gateway
    table = gateway.router.table if gateway.router is not None else None
    return Response(await gateway.metrics.scrape(table), media_type=CONTENT_TYPE)


routes = [metrics]
