"""/v1: the OpenAI-compatible endpoints. Thin: parse, run the pipeline, respond."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from helix.api.responses import respond
from helix.call import Endpoint
from helix.gateway import Gateway, new_request_id


async def _run(request: Request[Any, Any, Any], endpoint: Endpoint) -> Response[Any]:
    gateway: Gateway = request.app.state.gateway
    request_id = new_request_id()
    request.scope.setdefault("state", {})["request_id"] = request_id
    key = gateway.authenticate(request.headers, endpoint, request_id)  # before the body is read
    raw = await request.body()
    call = gateway.parse(endpoint, raw, request.headers, request_id, key)
    return await respond(call, await gateway.handle(call))


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _run(request, "chat")


@post("/v1/embeddings", status_code=200)
async def embeddings(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _run(request, "embeddings")


@get("/v1/models")
async def models(request: Request[Any, Any, Any]) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    key = gateway.authenticate(request.headers)
    listed = await gateway.models()
    if key is not None and key.spec.models is not None:
        listed = [m for m in listed if gateway.keys.allows(key, m["id"], m["id"])]
    return {"object": "list", "data": listed}


routes = [chat_completions, embeddings, models]
