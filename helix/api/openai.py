"""/v1: the OpenAI-compatible endpoints. Thin: parse, run the pipeline, respond.

Answers are bare ASGI apps (`JsonAnswer`, `EventStream`) instead of Litestar Responses: building one took a
tenth of a cache hit's time. `POST /v1/chat/completions` is normally answered before Litestar sees it
(helix/api/chat_route.py), through the same `run_call`; the route here serves it when Litestar does route
it (a trailing slash) and lists it in the schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, post
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp

from helix.api.responses import (
    Receive,
    body_not_sent,
    from_http_exception,
    get_route,
    respond,
    unless_client_leaves,
)
from helix.call import Call, Endpoint, Reply
from helix.errors import NotFound
from helix.gateway import Gateway, new_request_id
from helix.pipeline.parse import check_model_name


async def run_call(
    gateway: Gateway,
    endpoint: Endpoint,
    headers: Mapping[str, str],
    body: Callable[[], Awaitable[bytes]],
    request_id: str,
    receive: Receive,
) -> tuple[Call, Reply]:
    """Authenticate (before the body is read), parse, and run the pipeline (given up if the client leaves first):
    what every /v1 endpoint does."""
    key = gateway.authenticate(headers, endpoint, request_id)
    raw = await gateway.receive(endpoint, body, headers, request_id, key)
    call = gateway.parse(endpoint, raw, headers, request_id, key)
    return call, await unless_client_leaves(gateway.handle(call), receive)


async def run_pipeline(request: Request[Any, Any, Any], endpoint: Endpoint) -> tuple[Call, Reply]:
    """`run_call` for a Litestar request; its id goes in the scope, where the error handlers find it."""
    request_id = new_request_id()
    request.scope.setdefault("state", {})["request_id"] = request_id

    async def body() -> bytes:
        try:
            return await request.body()
        except HTTPException as exc:  # Litestar's own: a body too large, or the client gone (a 500) while reading it
            raise body_not_sent(request.scope) if exc.status_code >= 500 else from_http_exception(exc) from None

    return await run_call(request.app.state.gateway, endpoint, request.headers, body, request_id, request.receive)


async def _run(request: Request[Any, Any, Any], endpoint: Endpoint) -> ASGIApp:
    return await respond(*await run_pipeline(request, endpoint))


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> ASGIApp:
    return await _run(request, "chat")


@post("/v1/embeddings", status_code=200)
async def embeddings(request: Request[Any, Any, Any]) -> ASGIApp:
    return await _run(request, "embeddings")


@post("/v1/completions", status_code=200)
async def completions(request: Request[Any, Any, Any]) -> ASGIApp:
    return await _run(request, "completions")


async def _listed(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    gateway: Gateway = request.app.state.gateway
    key = gateway.authenticate(request.headers)
    listed = await gateway.models()
    if key is not None and key.spec.models is not None:
        listed = [m for m in listed if gateway.keys.allows(key, m["id"], m["id"])]
    return listed


def _anthropic_client(request: Request[Any, Any, Any]) -> bool:
    return "anthropic-version" in request.headers


def _anthropic_model(item: dict[str, Any]) -> dict[str, Any]:
    """A model in the shape of Anthropic's /v1/models, for the Anthropic SDK."""
    return {"type": "model", "id": item["id"], "display_name": item["id"], "created_at": "1970-01-01T00:00:00Z"}


@get_route("/v1/models")
async def models(request: Request[Any, Any, Any]) -> dict[str, Any]:
    listed = await _listed(request)
    if _anthropic_client(request):
        data = [_anthropic_model(item) for item in listed]
        ids = [item["id"] for item in data]
        return {
            "data": data,
            "has_more": False,
            "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None,
        }
    return {"object": "list", "data": listed}


@get_route("/v1/models/{model_id:path}")
async def model(request: Request[Any, Any, Any], model_id: str) -> dict[str, Any]:
    """One model by the id clients use: `provider/model`, an alias, or a bare name of the default provider."""
    gateway: Gateway = request.app.state.gateway
    wanted = model_id.lstrip("/")
    check_model_name(wanted)
    listed = {m["id"]: m for m in await _listed(request)}
    found = listed.get(wanted) or listed.get(f"{gateway.config.routing.default_provider}/{wanted}")
    if found is None:
        raise NotFound(
            f"the model '{wanted}' does not exist or is not listed by its provider: GET /v1/models lists them",
            param="model",
            code="model_not_found",
        )
    found = {**found, "id": wanted}
    return _anthropic_model(found) if _anthropic_client(request) else found


routes = [chat_completions, embeddings, completions, models, model]
