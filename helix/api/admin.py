"""/admin: keys, spend and stats as JSON, guarded by the admin key. Thin: the store does the work.

  GET    /admin/keys[?all=true]        keys with spend over their budget period, limits, last use
  POST   /admin/keys                   create {name, budget, period, user_budget, user_period, rpm, tpm,
                                       models, expires}; the answer carries the key, shown this once
  GET    /admin/keys/{name}            one key, with its top users this period
  PATCH  /admin/keys/{name}            change settings (null removes a limit)
  DELETE /admin/keys/{name}            revoke (also POST /admin/keys/{name}/revoke)
  POST   /admin/keys/{name}/rotate     a new secret for the same key, shown this once
  GET    /admin/spend?by=key|user|model|day|provider&since=7d&limit=50   spent and saved per group
  GET    /admin/stats?since=24h        request, error, refusal and cache totals, latency percentiles, rows the
                                        database writer could not write (write_failures, dropped_writes)
  POST   /admin/cache/clear            delete cache entries {model, older_than} (both optional: all entries)

Every change takes effect in the running server before the response is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from litestar import Request, Router, delete, patch, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from helix.api.responses import get_route
from helix.cache import entries as cache_entries
from helix.config import Period
from helix.durations import parse_duration
from helix.errors import DatabaseUnavailable, HelixError, InvalidRequest, NotFound
from helix.gateway import Gateway
from helix.periods import period_bounds
from helix.pipeline.auth import laptop_mode
from helix.store import keys as key_store
from helix.store import queries
from helix.store import spend as key_spend
from helix.store.db import Connection, connect
from helix.virtual_keys import KeyExists, KeyNotFound, KeyProblem, KeyRecord, KeySpec

T = TypeVar("T")
_GROUPS = ("model", "key", "user", "day", "provider")


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    gateway: Gateway = connection.app.state.gateway
    gateway.keys.check_admin(connection.headers)


def admin_or_laptop(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Open in laptop mode (only this machine can connect) until an admin key is set, as the dashboard is; the admin
    key otherwise."""
    gateway: Gateway = connection.app.state.gateway
    if not laptop_mode(gateway.config) or gateway.config.auth.admin_key:
        admin_only(connection, handler)


class _NewKey(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    budget: float | None = None
    period: Period = "total"
    user_budget: float | None = None
    user_period: Period | None = None
    rpm: int | None = None
    tpm: int | None = None
    models: list[str] | str | None = None
    expires: str | None = None


class _CacheClear(msgspec.Struct, forbid_unknown_fields=True):
    model: str | None = None
    older_than: str | None = None


class _KeyChanges(msgspec.Struct, forbid_unknown_fields=True):
    budget: float | msgspec.UnsetType | None = msgspec.UNSET
    period: Period | msgspec.UnsetType = msgspec.UNSET
    user_budget: float | msgspec.UnsetType | None = msgspec.UNSET
    user_period: Period | msgspec.UnsetType | None = msgspec.UNSET
    rpm: int | msgspec.UnsetType | None = msgspec.UNSET
    tpm: int | msgspec.UnsetType | None = msgspec.UNSET
    models: list[str] | str | msgspec.UnsetType | None = msgspec.UNSET
    expires: str | msgspec.UnsetType | None = msgspec.UNSET


def _decode(raw: bytes, shape: type[T]) -> T:
    try:
        return msgspec.json.decode(raw or b"{}", type=shape)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `")
        param = where.rstrip("`").removeprefix("$").lstrip(".") or None
        raise InvalidRequest(f"{message}" + (f" ('{param}')" if param else ""), param=param) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON ({exc})", code="invalid_json") from None
    except RecursionError:
        raise InvalidRequest("the request body is nested too deeply", code="invalid_json") from None


def _settings(given: dict[str, Any]) -> dict[str, Any]:
    try:
        return KeySpec.parse(given)
    except KeyProblem as exc:
        setting = exc.setting
        raise InvalidRequest(f"'{setting}': {exc}" if setting else str(exc), param=setting) from None


async def _in_db(request: Request[Any, Any, Any], work: Callable[[Connection], T], change: bool = False) -> T:
    gateway: Gateway = request.app.state.gateway
    lost = gateway.storage_outage()
    if lost is not None and isinstance(gateway.db_path, Path):  # opened by its path, a new empty file would answer
        raise DatabaseUnavailable(lost[1])
    if not change:
        await gateway.writer.flush()  # read what this server has logged so far, not 50 ms ago

    def run() -> T:
        conn = connect(gateway.db_path, migrate=False)  # key changes write; the server migrated at start
        try:
            return work(conn)
        finally:
            conn.close()

    try:
        result = await asyncio.to_thread(run)
    except KeyNotFound as exc:
        raise NotFound(str(exc), code="key_not_found") from None
    except KeyExists as exc:
        raise HelixError(str(exc), status=409, type="invalid_request_error", code="key_exists") from None
    except KeyProblem as exc:
        raise InvalidRequest(str(exc), code="invalid_key_settings", param=exc.setting) from None
    if change:
        await gateway.keys.reload()  # the change takes effect before we answer
    return result


def _with_secret(record: KeyRecord, secret: str) -> dict[str, Any]:
    return {
        **record.to_json(),
        "key": secret,
        "note": "store this key now: Helix keeps only its hash and cannot show it again",
    }


@get_route("/keys")
async def list_keys(request: Request[Any, Any, Any]) -> dict[str, Any]:
    include_revoked = request.query_params.get("all", "").lower() in ("1", "true", "yes")
    rows = await _in_db(request, lambda c: key_spend.report(c, key_store.list_keys(c, include_revoked)))
    return {"object": "list", "data": rows}


@post("/keys", status_code=201)
async def create_key(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = _decode(await request.body(), _NewKey)
    spec = KeySpec(**_settings({f: getattr(body, f) for f in body.__struct_fields__ if f != "name"}))
    record, secret = await _in_db(request, lambda c: key_store.create(c, body.name, spec), change=True)
    return _with_secret(record, secret)


@get_route("/keys/{name:str}")
async def show_key(request: Request[Any, Any, Any], name: str) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        record = key_store.find(conn, name)
        (row,) = key_spend.report(conn, [record])
        since, _ = period_bounds(record.spec.period, time.time())
        return {**row, "top_users": key_spend.top_users(conn, record.id, since)}

    body = await _in_db(request, work)
    gateway: Gateway = request.app.state.gateway
    if gateway.limits is not None:
        body["live"] = await gateway.limits.live(body["id"])  # includes spend not yet written, and reservations
    return body


@patch("/keys/{name:str}")
async def update_key(request: Request[Any, Any, Any], name: str) -> dict[str, Any]:
    body = _decode(await request.body(), _KeyChanges)
    changes = _settings({f: getattr(body, f) for f in body.__struct_fields__ if getattr(body, f) is not msgspec.UNSET})
    record = await _in_db(request, lambda c: key_store.update(c, name, changes), change=True)
    return record.to_json()


@delete("/keys/{name:str}", status_code=200)
async def delete_key(request: Request[Any, Any, Any], name: str) -> dict[str, Any]:
    record = await _in_db(request, lambda c: key_store.revoke(c, name), change=True)
    return record.to_json()


@post("/keys/{name:str}/revoke", status_code=200)
async def revoke_key(request: Request[Any, Any, Any], name: str) -> dict[str, Any]:
    record = await _in_db(request, lambda c: key_store.revoke(c, name), change=True)
    return record.to_json()


@post("/keys/{name:str}/rotate", status_code=200)
async def rotate_key(request: Request[Any, Any, Any], name: str) -> dict[str, Any]:
    record, secret = await _in_db(request, lambda c: key_store.rotate(c, name), change=True)
    return _with_secret(record, secret)


def _since(request: Request[Any, Any, Any], default: str) -> tuple[str, float]:
    text = request.query_params.get("since", default)
    try:
        return text, time.time() - parse_duration(text)
    except ValueError as exc:
        raise InvalidRequest(f"'since': {exc}", param="since") from None


@get_route("/spend")
async def spend(request: Request[Any, Any, Any]) -> dict[str, Any]:
    by = request.query_params.get("by", "key")
    if by not in _GROUPS:
        raise InvalidRequest(f"'by' must be one of {', '.join(_GROUPS)}", param="by")
    label, since = _since(request, "7d")
    try:
        limit = max(1, min(1000, int(request.query_params.get("limit", "50"))))
    except ValueError:
        raise InvalidRequest("'limit' must be a number", param="limit") from None
    rows, (total,) = await _in_db(
        request,
        lambda c: (queries.spend(by, since, limit).rows(c), queries.spend_total(since).rows(c)),  # type: ignore[arg-type]
    )
    data = queries.spend_items(by, rows)
    return {"object": "list", "by": by, "since": label, "data": data, "total": total}


@get_route("/stats")
async def stats(request: Request[Any, Any, Any]) -> dict[str, Any]:
    label, since = _since(request, "24h")
    gateway: Gateway = request.app.state.gateway

    def work(conn: Connection) -> dict[str, Any]:
        (totals,) = queries.stats(since).rows(conn)
        latency: dict[str, Any] = {}
        for column in ("latency_ms", "overhead_ms"):
            for name, fraction in (("p50", 0.5), ("p99", 0.99)):
                found = queries.percentile(column, since, fraction).rows(conn)
                latency[f"{column.removesuffix('_ms')}_{name}_ms"] = found[0]["value"] if found else None
        keys = key_store.list_keys(conn, include_revoked=True)
        statuses = [k.status() for k in keys]
        return {
            **totals,
            **latency,
            "keys": {s: statuses.count(s) for s in ("active", "expired", "revoked")},
            "write_failures": queries.write_failures(since).rows(conn),
        }

    body = await _in_db(request, work)
    return {
        "since": label,
        **body,
        "auth_required": gateway.keys.required,
        "pending_writes": gateway.writer.pending,
        "dropped_writes": dict(gateway.writer.dropped),
    }


@post("/cache/clear", status_code=200)
async def clear_cache(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = _decode(await request.body(), _CacheClear)
    cutoff = None
    if body.older_than:
        try:
            cutoff = time.time() - parse_duration(body.older_than)
        except ValueError as exc:
            raise InvalidRequest(f"'older_than': {exc}", param="older_than") from None
    gateway: Gateway = request.app.state.gateway
    # an alias's entries are stored as the deployments that answered it, as `helix cache clear --model` clears them
    names: list[str | None] = [*gateway.config.stored_as(body.model)] if body.model else [None]
    deleted = await _in_db(request, lambda c: sum(cache_entries.clear(c, name, cutoff) for name in names))
    if gateway.cache is not None:
        gateway.cache.forget()  # at once, not at the next poll of the cache generation
    return {"deleted": deleted, "model": body.model, "older_than": body.older_than}


router = Router(
    path="/admin",
    route_handlers=[
        list_keys,
        create_key,
        show_key,
        update_key,
        delete_key,
        revoke_key,
        rotate_key,
        spend,
        stats,
        clear_cache,
    ],
    guards=[admin_only],
    include_in_schema=True,
)
routes = [router]
