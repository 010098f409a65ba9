"""Web pages that may call Helix from a browser can read its answers (CORS); others still cannot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState, ServerThread

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "read me from a page"}]}
# What a browser sends before the OpenAI SDK's POST from a page (dangerouslyAllowBrowser).
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type,x-stainless-os,x-helix-cache-ttl",
}


def _preflight(helix: Helix, origin: str, path: str = "/v1/chat/completions") -> httpx.Response:
    return httpx.options(f"{helix.url}{path}", headers={"origin": origin, **PREFLIGHT})


def _post(helix: Helix, origin: str, key: str | None = None, **extra: object) -> httpx.Response:
    headers = {"origin": origin} | ({"authorization": f"Bearer {key}"} if key else {})
    return httpx.post(f"{helix.url}/v1/chat/completions", json={**CHAT, **extra}, headers=headers)


def _readable(answer: httpx.Response, origin: str) -> bool:
    return answer.headers.get("access-control-allow-origin") in (origin, "*")


@pytest.fixture
def keyed(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    toml = '[server]\ncors_origins = ["https://app.example"]\n[auth]\nrequire_keys = true\n'
    instance = start_helix(tmp_path, upstream[0].url, toml)
    yield instance
    instance.server.stop()


def test_a_page_of_this_machine_reads_laptop_mode_answers(helix: Helix, fake: FakeState) -> None:
    origin = "http://localhost:3000"
    allowed = _preflight(helix, origin)
    assert allowed.status_code == 200 and _readable(allowed, origin)
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert allowed.headers["access-control-allow-headers"] == PREFLIGHT["access-control-request-headers"]
    assert fake.requests == []  # a preflight reaches no provider

    answer = _post(helix, origin)
    assert answer.status_code == 200 and _readable(answer, origin)
    assert answer.headers["access-control-expose-headers"] == "*"  # x-helix-cache, x-helix-cost-usd, ...
    assert answer.headers["x-helix-request-id"]
    assert answer.json()["choices"][0]["message"]["content"]
    models = httpx.get(f"{helix.url}/v1/models", headers={"origin": origin})
    assert models.status_code == 200 and _readable(models, origin)


def test_a_stream_to_a_page_is_whole_and_readable(helix: Helix) -> None:
    origin = "http://127.0.0.1:5173"
    body = {**CHAT, "stream": True}
    with httpx.stream("POST", f"{helix.url}/v1/chat/completions", json=body, headers={"origin": origin}) as answer:
        assert answer.status_code == 200 and _readable(answer, origin)
        events = [line for line in answer.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert all(json.loads(e[6:])["object"] == "chat.completion.chunk" for e in events[:-1])


def test_a_page_of_another_site_stays_refused_in_laptop_mode(helix: Helix, fake: FakeState) -> None:
    for path in ("/v1/chat/completions", "/v1/messages"):
        refused = _preflight(helix, "https://evil.example", path)
        assert refused.status_code == 403 and not _readable(refused, "https://evil.example")
    assert _post(helix, "https://evil.example").status_code == 403
    assert fake.requests == []


def test_a_listed_site_is_served_in_laptop_mode(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    toml = '[server]\ncors_origins = ["https://playground.example"]\n'
    instance = start_helix(tmp_path, upstream[0].url, toml)
    try:
        assert _readable(_preflight(instance, "https://playground.example"), "https://playground.example")
        answer = _post(instance, "https://playground.example")
        assert answer.status_code == 200 and _readable(answer, "https://playground.example")
        assert _post(instance, "https://other.example").status_code == 403
    finally:
        instance.server.stop()


def test_with_keys_a_listed_site_reads_answers_and_still_needs_a_key(keyed: Helix, fake: FakeState) -> None:
    origin = "https://app.example"
    allowed = _preflight(keyed, origin)
    assert allowed.status_code == 200 and _readable(allowed, origin)  # a preflight carries no key
    # Chrome asks before a public site's page calls a server on its user's machine or network
    private = httpx.options(
        f"{keyed.url}/v1/chat/completions",
        headers={"origin": origin, "access-control-request-private-network": "true", **PREFLIGHT},
    )
    assert private.status_code == 200 and private.headers["access-control-allow-private-network"] == "true"

    no_key = _post(keyed, origin)
    assert no_key.status_code == 401 and _readable(no_key, origin)  # the page can show why
    assert no_key.json()["error"]["type"]
    key = add_key(keyed, "browser-app")
    answer = _post(keyed, origin, key)
    assert answer.status_code == 200 and _readable(answer, origin)
    assert len(fake.requests) == 1


def test_with_keys_an_unlisted_site_gets_no_cors(keyed: Helix, fake: FakeState) -> None:
    origin = "https://other.example"
    refused = _preflight(keyed, origin)
    assert refused.status_code == 400 and not _readable(refused, origin)
    key = add_key(keyed, "browser-app")
    answer = _post(keyed, origin, key)  # served (a key is a key), but a browser shows the page nothing
    assert answer.status_code == 200 and not _readable(answer, origin)


def test_clients_without_an_origin_get_no_cors_headers(helix: Helix) -> None:
    answer = httpx.post(f"{helix.url}/v1/chat/completions", json=CHAT)
    assert answer.status_code == 200
    assert not [name for name in answer.headers if name.startswith("access-control-")]
