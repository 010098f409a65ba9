"""Virtual keys end to end: the real server, the openai SDK, the `helix keys` CLI and the SQLite file."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from pathlib import Path

import httpx
import openai
import pytest

from helix.store import keys as key_store
from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState, ServerThread
from tests.test_cli import helix_cmd

KEY = re.compile(r"hx-[A-Za-z0-9_-]{43}")
HI = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HELIX_", "OPENAI_", "ANTHROPIC_"))}
    return {**clean, "HELIX_HOME": str(tmp_path / "home"), "COLUMNS": "250"}


def cli(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = helix_cmd(*args, "--config", str(tmp_path / "helix.toml"), env=env)
    return result.returncode, result.stdout, result.stderr


def error_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    return body["error"]


def test_any_token_until_a_key_exists_then_the_cli_key_is_required(
    helix: Helix, fake: FakeState, tmp_path: Path, env: dict[str, str]
) -> None:
    helix.client("sk-whatever").chat.completions.create(model="gpt-4o-mini", messages=HI)  # laptop mode

    code, out, err = cli(tmp_path, env, "keys", "add", "app", "--quiet")
    created = time.monotonic()
    assert code == 0, err
    secret = out.strip()
    assert KEY.fullmatch(secret)
    # The server polls the file: within a second, /v1 needs a key.
    while True:
        try:
            helix.client("sk-whatever").chat.completions.create(model="gpt-4o-mini", messages=HI)
        except openai.AuthenticationError as exc:
            assert exc.status_code == 401 and exc.code == "invalid_api_key"
            break
        assert time.monotonic() - created < 1.0, "the running server did not see the new key within a second"
        time.sleep(0.05)
    answer = helix.client(secret).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert answer.choices[0].message.content == "echo: hello there"
    key_id = helix.rows("SELECT id FROM keys WHERE name = 'app'")[0]["id"]
    rows = helix.rows("SELECT key_id, status, error_code FROM requests ORDER BY ts")
    assert rows[0]["status"] == 200 and rows[0]["key_id"] is None
    assert rows[-1]["key_id"] == key_id and rows[-1]["status"] == 200
    assert any(r["status"] == 401 and r["error_code"] == "invalid_api_key" for r in rows), "refusals are logged"


def test_missing_or_wrong_keys_get_401_before_the_body_is_read(helix: Helix, fake: FakeState) -> None:
    secret = add_key(helix, "app")
    url = f"{helix.url}/v1/chat/completions"
    for headers in (
        {},
        {"authorization": "Bearer sk-not-a-helix-key"},
        {"authorization": f"Bearer {secret}x"},
        {"authorization": f"Basic {secret}"},
        {"authorization": "Bearer"},
    ):
        response = httpx.post(url, content=b"{not json at all", headers=headers)
        assert response.status_code == 401, headers
        error = error_of(response)
        assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
        assert secret not in response.text
    models = httpx.get(f"{helix.url}/v1/models")
    assert models.status_code == 401
    embeddings = httpx.post(f"{helix.url}/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
    assert embeddings.status_code == 401
    assert not fake.requests, "an unauthenticated request must not reach a provider"


def test_a_tab_after_bearer_is_read_and_a_header_of_another_form_is_named(helix: Helix, fake: FakeState) -> None:
    """'Bearer<TAB>key' (HTTP's whitespace) was refused as 'missing API key', as was a header that was sent but of
    another form (a bare key, Basic), which left the client looking for a header it had sent."""
    secret = add_key(helix, "app")
    url, body = f"{helix.url}/v1/chat/completions", {"model": "gpt-4o-mini", "messages": HI}
    for blank in ("\t", " \t ", "  "):
        response = httpx.post(url, json=body, headers={"authorization": f"Bearer{blank}{secret}"})
        assert response.status_code == 200, (blank, response.text)
    for value in (secret, f"Basic {secret}", "Bearer", f"Token {secret}"):
        response = httpx.post(url, json=body, headers={"authorization": value})
        assert response.status_code == 401, value
        error = error_of(response)
        assert "'Bearer <your Helix key>'" in error["message"] and "missing" not in error["message"], error
        assert secret not in response.text
    assert "missing API key" in error_of(httpx.post(url, json=body))["message"]
    # Anthropic's clients send the key as x-api-key: read there also when a proxy adds an Authorization of its own.
    both = {"x-api-key": secret, "authorization": "Basic cHJveHk6cGFzcw=="}
    messages = {"model": "gpt-4o-mini", "max_tokens": 5, "messages": HI}
    assert httpx.post(f"{helix.url}/v1/messages", json=messages, headers=both).status_code == 200
    statuses = [row["status"] for row in helix.rows("SELECT status FROM requests ORDER BY ts")]
    assert statuses == [200] * 3 + [401] * 5 + [200]


def test_revoked_and_expired_keys_are_refused_with_their_own_codes(helix: Helix, fake: FakeState) -> None:
    revoked = add_key(helix, "gone")
    expiring = add_key(helix, "short", expires_at=time.time() + 3600)
    helix.client(revoked).chat.completions.create(model="gpt-4o-mini", messages=HI)
    helix.client(expiring).chat.completions.create(model="gpt-4o-mini", messages=HI)

    conn = sqlite3.connect(helix.db_path)
    with conn:
        key_store.revoke(conn, "gone")
        conn.execute("UPDATE keys SET expires_at = ? WHERE name = 'short'", (time.time() - 1,))
    conn.close()
    helix.server.run(helix.gateway.keys.reload())

    with pytest.raises(openai.AuthenticationError) as raised:
        helix.client(revoked).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert raised.value.code == "key_revoked" and "revoked" in raised.value.message
    with pytest.raises(openai.AuthenticationError) as raised:
        helix.client(expiring).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert raised.value.code == "key_expired" and "expired" in raised.value.message
    assert len(fake.calls("/v1/chat/completions")) == 2


def test_model_allow_list_is_enforced_with_403(helix: Helix, fake: FakeState) -> None:
    secret = add_key(helix, "narrow", models=("gpt-4o-mini", "anthropic/*"))
    client = helix.client(secret)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    # What the bare name resolves to (another question: the same one would be answered by the cache).
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "other"}])
    client.chat.completions.create(model="anthropic/claude-3-5-haiku-latest", messages=HI, max_tokens=50)
    for model in ("gpt-4o", "openai/gpt-4o-mini-2024-07-18", "groq/llama-3.1-8b-instant"):
        with pytest.raises(openai.PermissionDeniedError) as raised:
            client.chat.completions.create(model=model, messages=HI)
        assert raised.value.status_code == 403
        assert raised.value.code == "model_not_allowed" and "gpt-4o-mini, anthropic/*" in raised.value.message
    listed = {m.id for m in client.models.list()}
    assert "openai/gpt-4o-mini" in listed and "openai/gpt-4o" not in listed
    assert all(m == "openai/gpt-4o-mini" or m.startswith("anthropic/") for m in listed)
    assert len(fake.calls("/v1/chat/completions")) + len(fake.calls("/v1/messages")) == 3
    rows = helix.rows("SELECT status, error_code FROM requests WHERE status = 403")
    assert len(rows) == 3 and {r["error_code"] for r in rows} == {"model_not_allowed"}


@pytest.mark.parametrize("toml", ['[server]\nhost = "0.0.0.0"\n', "[auth]\nrequire_keys = true\n"])
def test_keys_required_off_loopback_or_when_configured_even_with_no_key(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], toml: str
) -> None:
    instance = start_helix(tmp_path, upstream[0].url, toml)
    try:
        with pytest.raises(openai.AuthenticationError) as raised:
            instance.client("anything").chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert "helix keys add" in raised.value.message
        secret = add_key(instance, "first")
        instance.client(secret).chat.completions.create(model="gpt-4o-mini", messages=HI)
    finally:
        instance.server.stop()


def test_the_helix_key_never_reaches_a_provider(helix: Helix, fake: FakeState) -> None:
    secret = add_key(helix, "app")
    client = helix.client(secret)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "s"}], stream=True))
    client.embeddings.create(model="text-embedding-3-small", input="hello")
    client.chat.completions.create(model="anthropic/claude-3-5-haiku-latest", messages=HI, max_tokens=20)
    assert len(fake.requests) == 4
    for recorded in fake.requests:
        assert secret not in json.dumps(recorded.headers) + json.dumps(recorded.body)
        if recorded.path == "/v1/messages":
            assert recorded.headers["x-api-key"] == "sk-ant-test" and "authorization" not in recorded.headers
        else:
            assert recorded.headers["authorization"] == "Bearer sk-test"


def test_the_database_holds_no_plaintext_key(
    helix: Helix, fake: FakeState, tmp_path: Path, env: dict[str, str]
) -> None:
    secrets = [add_key(helix, "one")]
    out = cli(tmp_path, env, "keys", "add", "two", "--budget", "5")[1]
    secrets += KEY.findall(out)
    out = cli(tmp_path, env, "keys", "rotate", "one")[1]
    secrets += KEY.findall(out)
    assert len(secrets) == 3
    helix.server.run(helix.gateway.keys.reload())
    for secret in secrets[1:]:
        helix.client(secret).chat.completions.create(model="gpt-4o-mini", messages=HI)
    helix.flush()
    data = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("helix.db*")))
    assert hashlib.sha256(secrets[1].encode()).hexdigest().encode() in data  # we are looking at the right bytes
    for secret in secrets:
        assert secret.encode() not in data
        assert secret[3:20].encode() not in data, "not even the random part of a key may be stored"


def test_keys_cli_add_list_show_update_rotate_revoke(
    helix: Helix, fake: FakeState, tmp_path: Path, env: dict[str, str]
) -> None:
    code, out, err = cli(
        tmp_path,
        env,
        *("keys", "add", "web-app", "--budget", "25", "--period", "day", "--rpm", "60", "--tpm", "100000"),
        *("--models", "gpt-4o-mini,anthropic/*", "--expires", "30d", "--user-budget", "1"),
    )
    assert code == 0, err
    (secret,) = KEY.findall(out)
    assert "cannot show it again" in out
    helix.server.run(helix.gateway.keys.reload())
    helix.client(secret).chat.completions.create(model="gpt-4o-mini", messages=HI, user="alice")

    code, out, _ = cli(tmp_path, env, "keys", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if "web-app" in line)
    assert secret[:8] in line and secret not in out
    assert "$25.00 daily" in line and "60 rpm" in line and "100,000 tpm" in line
    assert "gpt-4o-mini, anthropic/*" in line and "$1.00 daily" in line and "ago" in line  # last used

    code, out, _ = cli(tmp_path, env, "keys", "show", "web-app")
    alice = helix.gateway.users.stored("alice")  # end-user ids are stored as keyed hashes
    assert code == 0 and "Top users" in out and str(alice) in out and "1 this period" in out

    code, out, err = cli(tmp_path, env, "keys", "update", "web-app", "--budget", "none", "--rpm", "5")
    assert code == 0, err
    code, out, _ = cli(tmp_path, env, "keys", "rotate", "web-app")
    (rotated,) = KEY.findall(out)
    assert rotated != secret
    helix.server.run(helix.gateway.keys.reload())
    with pytest.raises(openai.AuthenticationError):
        helix.client(secret).chat.completions.create(model="gpt-4o-mini", messages=HI)
    answer = helix.client(rotated).with_raw_response.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert answer.headers["x-ratelimit-limit-requests"] == "5"

    code, out, _ = cli(tmp_path, env, "keys", "revoke", "web-app")
    assert code == 0 and "revoked" in out
    assert "no keys yet" in cli(tmp_path, env, "keys", "list")[1]
    assert "revoked" in cli(tmp_path, env, "keys", "list", "--all")[1]
    # The same name can be used again once the old key is revoked.
    assert cli(tmp_path, env, "keys", "add", "web-app", "-q")[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("keys", "add", "dup"), "already exists"),
        (("keys", "revoke", "nobody"), "no key named 'nobody'"),
        (("keys", "show", "nobody"), "no key named 'nobody'"),
        (("keys", "add", "x", "--expires", "soon"), "not a duration"),
        (("keys", "add", "x", "--rpm", "0"), "rpm must be from 1 to"),
        (("keys", "add", "bad name!"), "not a usable key name"),
        (("keys", "add", "x", "--models", " , "), "model list is empty"),
        (("keys", "update", "dup"), "nothing to change"),
        (("keys", "update", "dup", "--budget", "lots"), "not an amount"),
    ],
)
def test_keys_cli_errors_are_one_line(tmp_path: Path, env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    (tmp_path / "helix.toml").write_text(f'[storage]\npath = "{tmp_path / "helix.db"}"\n')
    assert cli(tmp_path, env, "keys", "add", "dup", "-q")[0] == 0
    code, _, err = cli(tmp_path, env, *args)
    assert code == 1
    assert message in err and err.startswith("error: ") and err.strip().count("\n") == 0, err


def test_init_writes_an_admin_key(tmp_path: Path, env: dict[str, str]) -> None:
    target = tmp_path / "fresh.toml"
    result = helix_cmd("init", "--path", str(target), env=env)
    assert result.returncode == 0, result.stderr
    match = re.search(r'^admin_key = "(hxa-[A-Za-z0-9_-]{43})"$', target.read_text(), re.MULTILINE)
    assert match, "helix init must generate an admin key"
    assert target.stat().st_mode & 0o077 == 0, "a file holding a secret is readable by its owner only"
    from helix.config import load_config

    assert load_config(target, env={}).auth.admin_key == match.group(1)


def test_a_locked_database_is_one_line_from_the_cli_not_a_traceback(
    helix: Helix, tmp_path: Path, env: dict[str, str]
) -> None:
    """Round 19: with another process holding the file, `helix keys add` / `revoke` printed a Python traceback."""
    assert cli(tmp_path, env, "keys", "add", "held", "--quiet")[0] == 0
    holder = sqlite3.connect(helix.db_path, timeout=0)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        for args in (("keys", "add", "other"), ("keys", "revoke", "held")):
            code, out, err = cli(tmp_path, env, *args)
            assert code == 1 and "Traceback" not in out + err
            assert "cannot be used right now: database is locked" in err and len(err.strip().splitlines()) == 1
    finally:
        holder.rollback()
        holder.close()
