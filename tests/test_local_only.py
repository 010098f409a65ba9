"""Laptop mode (no keys needed, this machine only) refuses what a web page of another site sends it."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "spend my keys"}]}


def _post(helix: Helix, headers: dict[str, str], path: str = "/v1/chat/completions", text: str = "") -> httpx.Response:
    body = {**CHAT, "messages": [{"role": "user", "content": f"spend my keys {text}"}]}
    return httpx.post(f"{helix.url}{path}", content=httpx.Request("POST", "/", json=body).content, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        # a page of another site posting text/plain (no CORS preflight), which Helix reads as JSON
        {"origin": "http://evil.example", "content-type": "text/plain"},
        {"origin": "null", "content-type": "application/json"},  # a sandboxed frame, a file:// page
        {"host": "evil.example:4000", "content-type": "application/json"},  # a name rebound to 127.0.0.1
    ],
)
def test_a_web_page_of_another_site_cannot_use_laptop_mode(
    helix: Helix, fake: FakeState, headers: dict[str, str]
) -> None:
    for path in ("/v1/chat/completions", "/v1/messages"):
        refused = _post(helix, headers, path)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "foreign_origin"
    assert httpx.get(f"{helix.url}/v1/models", headers=headers).status_code == 403
    assert fake.requests == []


def test_clients_and_pages_of_this_machine_are_served(helix: Helix, fake: FakeState) -> None:
    for i, headers in enumerate(
        [
            {"content-type": "application/json"},  # an SDK sends no Origin
            {"origin": "http://localhost:3000", "content-type": "application/json"},
            {"origin": "http://127.0.0.1:5173", "host": "localhost:4000", "content-type": "application/json"},
            {"origin": "http://[::1]:8080", "host": "[::1]:4000", "content-type": "application/json"},
            {"origin": "http://0.0.0.0:4000", "host": "0.0.0.0:4000", "content-type": "application/json"},
        ]
    ):
        assert _post(helix, headers, text=str(i)).status_code == 200, headers
    assert len(fake.requests) == 5


def test_with_keys_required_a_key_is_what_counts(tmp_path, upstream, fake: FakeState) -> None:  # type: ignore[no-untyped-def]
    instance = start_helix(tmp_path, upstream[0].url, "[auth]\nrequire_keys = true\n")
    try:
        key = add_key(instance, "browser-app")
        headers = {"origin": "https://app.example", "authorization": f"Bearer {key}"}
        assert _post(instance, {**headers, "content-type": "application/json"}).status_code == 200
    finally:
        instance.server.stop()


def test_reload_needs_the_admin_key_once_one_is_set_even_on_a_laptop(tmp_path, upstream) -> None:  # type: ignore[no-untyped-def]
    instance = start_helix(tmp_path, upstream[0].url, '[auth]\nadmin_key = "hx-admin-0123456789abcdef"\n')
    try:
        assert httpx.post(f"{instance.url}/admin/reload").status_code == 401
        keyed = {"authorization": "Bearer hx-admin-0123456789abcdef"}
        assert httpx.post(f"{instance.url}/admin/reload", headers=keyed).status_code != 401
    finally:
        instance.server.stop()
