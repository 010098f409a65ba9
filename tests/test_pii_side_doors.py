"""Values hidden in fields and forms the firewall used to miss: none reaches the provider or the file.

Every case goes through the real server, plain and streamed, to OpenAI and to Anthropic; the fake
upstream's record is what a provider saw, and the SQLite file (WAL included) is scanned byte by byte.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread
from tests.test_pii_proxy import file_bytes
from tests.test_pii_walk import fullwidth

KEY = "sk-proj-" + "Zq8Wm2Xn4Bv6Cx1Lk3Jh5Gf7Ds9Ap0Qw"
JWT_HEADER = base64.urlsafe_b64encode(b'{ "alg": "HS256", "typ": "JWT" }').decode().rstrip("=")
JWT_PAYLOAD = base64.urlsafe_b64encode(b'["sub", 1234567890]').decode().rstrip("=")
FULLWIDTH = fullwidth("fw.user@leakmail.io")
JWT = f"{JWT_HEADER}.{JWT_PAYLOAD}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


_ANTHROPIC = "anthropic/claude-3-5-haiku-latest"


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


Body = dict[str, Any]
# (case, planted value as it would leak, how it is written into a request body)
CASES: list[tuple[str, str, Callable[[Body], None]]] = [
    ("user field", "user.field@leakmail.io", lambda b: b.update(user="user.field@leakmail.io")),
    ("message name", "nina.west@leakmail.io", lambda b: b["messages"][0].update(name="nina.west@leakmail.io")),
    ("metadata value", "owner.one@leakmail.io", lambda b: b.update(metadata={"owner": "owner.one@leakmail.io"})),
    ("metadata key", "key.two@leakmail.io", lambda b: b.update(metadata={"key.two@leakmail.io": "x"})),
    # Found only by the key it is under, as `password: Xq7...` would be in prose.
    ("secret under its key", "Xq7mPz2rLw9aBc4D", lambda b: b.update(metadata={"db_password": "Xq7mPz2rLw9aBc4D"})),
    ("token in an unknown field", "Zt4nQw8eRk2pLm6v", lambda b: b.update(session={"accessToken": "Zt4nQw8eRk2pLm6v"})),
    (
        "secret in a name/value pair",
        "Pw9kLm2nBv4cXz7q",
        lambda b: b.update(env=[{"name": "DB_PASSWORD", "value": "Pw9kLm2nBv4cXz7q"}]),
    ),
    (
        "tool definition",
        "tool.desc@leakmail.io",
        lambda b: b.update(
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "notify",
                        "description": "mails tool.desc@leakmail.io",
                        "parameters": {
                            "type": "object",
                            "properties": {"to": {"type": "string", "description": "e.g. 4111 1111 1111 1111"}},
                        },
                    },
                }
            ]
        ),
    ),
    (
        "response_format schema",
        "schema.owner@leakmail.io",
        lambda b: b.update(
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "reply",
                    "schema": {"type": "object", "description": "schema.owner@leakmail.io"},
                },
            }
        ),
    ),
    ("stop", "stop.word@leakmail.io", lambda b: b.update(stop=["stop.word@leakmail.io"])),
    (
        "prediction",
        "pred.text@leakmail.io",
        lambda b: b.update(prediction={"type": "content", "content": "pred.text@leakmail.io"}),
    ),
    (
        "image url",
        "img.user@leakmail.io",
        lambda b: b["messages"].append(
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://cdn.io/a?u=img.user%40leakmail.io"}}],
            }
        ),
    ),
    (
        "text data url",
        "data.url@leakmail.io",
        lambda b: b["messages"].append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "see file"},
                    {
                        "type": "file",
                        "file": {
                            "filename": "n.txt",
                            "file_data": "data:text/plain;base64,"
                            + base64.b64encode(b"note: data.url@leakmail.io").decode(),
                        },
                    },
                ],
            }
        ),
    ),
    (
        "base64",
        "b64.user@leakmail.io",
        lambda b: b["messages"].append(_user("decode " + base64.b64encode(b"b64.user@leakmail.io").decode())),
    ),
    (
        "percent-encoded",
        "pct.user%40leakmail.io",
        lambda b: b["messages"].append(_user("mail pct.user%40leakmail.io now")),
    ),
    ("fullwidth", FULLWIDTH, lambda b: b["messages"].append(_user(f"mail {FULLWIDTH} now"))),
    (
        "zero-width",
        "zw.user\u200b@leakmail.io",
        lambda b: b["messages"].append(_user("mail zw.user\u200b@leakmail.io now")),
    ),
    (
        "card with dots",
        "4111.1111.1111.1111",
        lambda b: b["messages"].append(_user("card 4111.1111.1111.1111 declined")),
    ),
    ("JWT, any payload", JWT, lambda b: b["messages"].append(_user(f"token {JWT} expired"))),
    # Numbers are values too (faults round 15): a card, an SSN and a phone number sent as JSON numbers
    ("card as a JSON number", "4532015112830366", lambda b: b.update(metadata={"card": 4532015112830366})),
    ("SSN as a number under its key", "219099999", lambda b: b.update(metadata={"customer_ssn": 219099999})),
    # ... and as floats, as Python and pandas write long integers, and in a field of the request's top level (round 23)
    ("card as a JSON float", "4539148803436467", lambda b: b.update(metadata={"card": 4539148803436467.0})),
    ("phone as a float in a list", "14155550173", lambda b: b.update(metadata={"phones": [14155550173.0]})),
    ("card in a top-level field", "4539148803436467", lambda b: b.update(customer_card=4539148803436467)),
    (
        "card in a schema's enum",
        "4916338506082832",
        lambda b: b.update(
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "pay",
                        "parameters": {"type": "object", "properties": {"card": {"enum": [4916338506082832]}}},
                    },
                }
            ]
        ),
    ),
    (
        "key split across messages",
        KEY[16:],
        lambda b: b["messages"].extend([_user(f"my key is {KEY[:16]}"), _user(f"{KEY[16:]} (the rest)")]),
    ),
]


def strings(value: Any) -> Iterator[str]:
    """Every string of `value`, keys included, and every number's digits."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def _seen(fake: FakeState) -> str:
    return "\n".join(s for r in fake.requests for s in strings(r.body))


@pytest.fixture(scope="module")
def firewall(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(tmp_path_factory.mktemp("side-doors"), upstream[0].url)
    yield instance
    instance.server.stop()


@pytest.mark.parametrize("model", ["gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(("case", "value", "plant"), CASES, ids=[c[0] for c in CASES])
def test_side_door_is_closed(
    firewall: Helix,
    fake: FakeState,
    case: str,
    value: str,
    plant: Callable[[Body], None],
    stream: bool,
    model: str,
) -> None:
    if case == "text data url" and model.startswith("anthropic/"):
        pytest.skip("the Anthropic translation refuses file parts before anything is sent")
    body: Body = {"model": model, "messages": [_user("hello")], "stream": stream}
    plant(body)
    url, fresh = f"{firewall.url}/v1/chat/completions", {"cache-control": "no-cache"}
    with httpx.stream("POST", url, json=body, headers=fresh, timeout=30) as response:
        answer = response.read()
    assert response.status_code == 200, answer
    assert fake.requests, "nothing reached the provider"
    seen = _seen(fake)
    assert value not in seen and value.replace("\u200b", "") not in seen, f"{case}: reached the provider"
    assert value.encode() not in file_bytes(firewall), f"{case}: written to the database file"


@pytest.mark.parametrize(
    ("header", "value", "path", "model"),
    [
        ("openai-beta", "assistants=v2; owner=hdr1.bob@example.com", "/v1/chat/completions", "gpt-4o-mini"),
        ("anthropic-beta", "tools-2024-04-04,sk-ant-api03-" + "Qw8e" * 20, "/v1/messages", _ANTHROPIC),
    ],
)
def test_pii_in_a_header_passed_on_to_the_provider_refuses_the_request(
    firewall: Helix, fake: FakeState, header: str, value: str, path: str, model: str
) -> None:
    """The feature headers sent on to the provider went unchecked (a helper's find): one holding PII or a secret is a
    400 naming the header, as a beta list cannot be rewritten; the usual values pass."""
    body = {"model": model, "max_tokens": 5, "messages": [_user("hello")]}
    refused = httpx.post(f"{firewall.url}{path}", json=body, headers={header: value}, timeout=30)
    assert refused.status_code == 400 and f"header {header} contains" in refused.text
    assert not fake.requests
    usual = value.split(";" if ";" in value else ",")[0]
    assert httpx.post(f"{firewall.url}{path}", json=body, headers={header: usual}, timeout=30).status_code == 200
    assert fake.requests[-1].headers.get(header) == usual


def test_a_header_another_provider_of_the_route_would_pass_on_is_checked_too(firewall: Helix, fake: FakeState) -> None:
    """Only the first target's headers were checked: an OpenAI model falling back to Claude sent anthropic-beta with an
    address in it to Anthropic (faults round 23). Every configured provider's feature headers are checked."""
    body = {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [_user("hello")]}
    headers = {"anthropic-beta": "tools-2024-04-04,zq.planted.1@example-mail.net"}
    refused = httpx.post(f"{firewall.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert refused.status_code == 400 and "header anthropic-beta contains" in refused.text
    assert not fake.requests


def test_token_id_inputs_are_refused_while_the_firewall_is_on(firewall: Helix, fake: FakeState) -> None:
    for value in ([[1542, 318, 257]], [1542, 318]):
        response = httpx.post(
            f"{firewall.url}/v1/embeddings", json={"model": "text-embedding-3-small", "input": value}, timeout=30
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "pii_unverifiable_input" and "token ids" in error["message"]
    assert not fake.requests


def test_a_huge_body_is_analysed_in_chunks_and_fully(firewall: Helix, fake: FakeState) -> None:
    filler = "The quarterly report covers revenue, churn and hiring plans for each region. " * 4000
    text = filler + " contact deep.inside@leakmail.io " + filler + " or at the end last.job@leakmail.io"
    response = httpx.post(
        f"{firewall.url}/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [_user(text)]}, timeout=60
    )
    assert response.status_code == 200
    seen = _seen(fake)
    assert "deep.inside@leakmail.io" not in seen and "last.job@leakmail.io" not in seen
    assert seen.count("<EMAIL_ADDRESS>") == 2


def test_the_walk_keeps_the_request_usable(firewall: Helix, fake: FakeState) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [_user("hi")],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        "metadata": {"team": "core"},
    }
    response = httpx.post(f"{firewall.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200
    assert json.dumps(fake.requests[0].body["tools"]) == json.dumps(body["tools"])
    assert fake.requests[0].body["metadata"] == {"team": "core"}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_user_ids_are_stored_as_keyed_hashes(firewall: Helix, fake: FakeState, stream: bool) -> None:
    raw = f"header.user.{int(stream)}@leakmail.io"
    body = {"model": "gpt-4o-mini", "messages": [_user("hi")], "stream": stream}
    with httpx.stream(
        "POST", f"{firewall.url}/v1/chat/completions", json=body, headers={"x-helix-user": raw}, timeout=30
    ) as response:
        response.read()
    assert response.status_code == 200
    stored = firewall.gateway.users.stored(raw)
    assert stored is not None and stored.startswith("u_") and len(stored) == 18
    assert firewall.rows("SELECT user FROM requests ORDER BY rowid DESC LIMIT 1")[0]["user"] == stored
    assert raw.encode() not in file_bytes(firewall)
    # A refused request (bad JSON) is logged with the same id.
    bad = httpx.post(f"{firewall.url}/v1/chat/completions", content=b"{", headers={"x-helix-user": raw}, timeout=30)
    assert bad.status_code == 400
    assert firewall.rows("SELECT user FROM requests ORDER BY rowid DESC LIMIT 1")[0]["user"] == stored
    assert raw.encode() not in file_bytes(firewall)


def test_store_user_plain_keeps_ids_as_sent(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    instance = start_helix(tmp_path, upstream[0].url, '[privacy]\nstore_user = "plain"\n')
    try:
        instance.client().chat.completions.create(model="gpt-4o-mini", messages=[_user("hi")], user="team-a")
        assert [r["user"] for r in instance.rows("SELECT user FROM requests")] == ["team-a"]
    finally:
        instance.server.stop()


def test_the_hash_key_lives_in_the_database_or_the_config(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_helix(tmp_path / "a", upstream[0].url)
    try:
        once = first.gateway.users.stored("alice")
    finally:
        first.server.stop()
    again = start_helix(tmp_path / "a", upstream[0].url)
    try:
        assert again.gateway.users.stored("alice") == once  # stable across restarts
    finally:
        again.server.stop()
    configured = start_helix(tmp_path / "b", upstream[0].url, '[privacy]\nuser_hash_key = "0123456789abcdef-key"\n')
    try:
        assert configured.gateway.users.stored("alice") not in (once, None)
    finally:
        configured.server.stop()


@pytest.mark.parametrize("model", ["gpt-4o-mini", _ANTHROPIC])
def test_numbers_in_an_anthropic_tool_use_input_are_checked(firewall: Helix, fake: FakeState, model: str) -> None:
    """An Anthropic client's tool call sent a card, a phone and an SSN as JSON numbers (the tool's input is an object):
    the walk read strings only, and every one reached the provider, translated or not (faults round 15)."""
    call = {"card_number": 4532015112830366, "phone": 14155552671, "ssn": 219099999, "lat": 51.50741, "guests": 4}
    body = {
        "model": model,
        "max_tokens": 50,
        "messages": [
            _user("Book the table and pay with my card"),
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "pay", "input": call}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "paid"}]},
        ],
    }
    answer = httpx.post(f"{firewall.url}/v1/messages", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    seen = _seen(fake)
    for value in ("4532015112830366", "14155552671", "219099999", "51.50741"):
        assert value not in seen, value
    assert "4" in seen  # the number of guests (no one's) went as it was


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CLAIMS = {f"claim_{i}": "value-" + "x" * 20 for i in range(10)} | {"sub": "user-8812", "exp": 1900000000}
LONG_JWT = ".".join(
    (
        _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-2024-rotation-0001"}).encode()),
        _b64url(json.dumps(_CLAIMS).encode()),
        _b64url(bytes(range(7, 39))),
    )
)
# A private key's shape (the recognizer reads no ASN.1): 26 lines of base64 between its BEGIN and END lines.
PEM_LINES = [base64.b64encode(bytes((i * 37 + j) % 256 for j in range(48))).decode() for i in range(26)]
PEM = "\n".join(["-----BEGIN PRIVATE KEY-----", *PEM_LINES, "-----END PRIVATE KEY-----"])


@pytest.mark.parametrize("offset", [6000, 7000, 7500, 7800, 8000])
def test_a_key_or_a_token_across_a_chunks_end_is_found_whole(firewall: Helix, fake: FakeState, offset: int) -> None:
    """A huge text is analysed in chunks of 8 KB that overlap by 256 characters: a JWT or a private key longer than
    that, across a chunk's end, was in no chunk whole, and the JWT's parts and the key's last lines (enough to
    factor its modulus) reached the provider (faults round 15)."""
    for secret, question in ((LONG_JWT, "is rejected, why?"), (PEM, "What is wrong?")):
        text = "word " * (offset // 5) + f"\nAuthorization token {secret}\n{question}"
        body = {"model": "gpt-4o-mini", "messages": [_user(text)]}
        answer = httpx.post(f"{firewall.url}/v1/chat/completions", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        seen = _seen(fake)
        pieces = LONG_JWT.split(".") if secret == LONG_JWT else [*PEM_LINES, "-----END PRIVATE KEY-----"]
        assert [piece for piece in pieces if piece in seen] == [], offset


def test_a_private_key_split_over_two_messages_reaches_no_one(firewall: Helix, fake: FakeState) -> None:
    """Its first half with its BEGIN line was found in the first message; the second, with its END line, went out."""
    half = len(PEM_LINES) // 2
    first = "Here is the key, part 1:\n-----BEGIN PRIVATE KEY-----\n" + "\n".join(PEM_LINES[:half])
    second = "\n".join(PEM_LINES[half:]) + "\n-----END PRIVATE KEY-----\nIs this key valid?"
    body = {
        "model": "gpt-4o-mini",
        "messages": [_user(first), {"role": "assistant", "content": "go on"}, _user(second)],
    }
    assert httpx.post(f"{firewall.url}/v1/chat/completions", json=body, timeout=30).status_code == 200
    seen = _seen(fake)
    assert [line for line in PEM_LINES if line in seen] == []
