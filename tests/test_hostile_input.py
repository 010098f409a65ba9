"""Hostile request shapes through the real server: deep nesting is a 400, the schema is not public."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread

ADMIN = "hxa-test-admin-key-0123456789abcdef"


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings"])
def test_deeply_nested_json_is_a_400(helix: Helix, depth: int, path: str) -> None:
    nested = "[" * depth + "]" * depth
    raw = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "metadata": ' + nested + "}"
    response = httpx.post(helix.url + path, content=raw, headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.fixture
def exposed(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    """Configured to listen beyond this machine (the test still binds 127.0.0.1)."""
    instance = start_helix(tmp_path, upstream[0].url, f'[server]\nhost = "0.0.0.0"\n[auth]\nadmin_key = "{ADMIN}"\n')
    yield instance
    instance.server.stop()


def test_deep_json_to_the_admin_api_is_a_400(exposed: Helix) -> None:
    raw = '{"name": "x", "models": ' + "[" * 5000 + "]" * 5000 + "}"
    response = httpx.post(
        f"{exposed.url}/admin/keys", content=raw, headers={"authorization": f"Bearer {ADMIN}"}, timeout=10
    )
    assert response.status_code == 400


def test_the_schema_needs_the_admin_key_beyond_this_machine(exposed: Helix) -> None:
    for path in ("/openapi", "/openapi/openapi.json", "/openapi.json"):
        response = httpx.get(exposed.url + path, timeout=10)
        assert response.status_code in (401, 404), (path, response.status_code)
        assert "/admin" not in response.text
    schema = httpx.get(f"{exposed.url}/openapi/openapi.json", headers={"authorization": f"Bearer {ADMIN}"}, timeout=10)
    assert schema.status_code == 200 and "/admin/keys" in schema.json()["paths"]


def test_the_schema_is_open_in_laptop_mode(helix: Helix) -> None:
    schema = httpx.get(f"{helix.url}/openapi/openapi.json", timeout=10)
    assert schema.status_code == 200 and "/v1/chat/completions" in schema.json()["paths"]


def test_more_embedding_inputs_than_openai_allows_is_a_400_before_any_scan(helix: Helix, fake: FakeState) -> None:
    body = {"model": "text-embedding-3-small", "input": [f"text {i}" for i in range(2049)]}
    response = httpx.post(f"{helix.url}/v1/embeddings", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "input" and "2048" in response.json()["error"]["message"]
    assert fake.calls("/v1/embeddings") == []
    body["input"] = body["input"][:2048]
    assert httpx.post(f"{helix.url}/v1/embeddings", json=body, timeout=30).status_code == 200


_DEEP_ARGUMENTS = "[" * 5_000 + "]" * 5_000
_USER = {"role": "user", "content": "x"}
_ANTHROPIC = "anthropic/claude-3-5-haiku-latest"
_TOOLS = [{"type": "function", "function": {"name": "f"}}]
# Arguments a tool call carries as a JSON string, which only a translation decodes: each was a 500 but the first.
_BAD_ARGUMENTS = {
    "nested too deeply": _DEEP_ARGUMENTS,
    "with a 4,301-digit number": '{"a": ' + "9" * 4_301 + "}",
    "with a lone surrogate": '{"a": "\\ud800"}',
}


def _chat_with_arguments(arguments: str) -> dict[str, object]:
    call = {"id": "a", "function": {"name": "f", "arguments": arguments}}
    return {
        "model": _ANTHROPIC,
        "messages": [
            _USER,
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "a", "content": "r"},
        ],
    }


def _responses_with_arguments(arguments: str) -> dict[str, object]:
    return {
        "model": _ANTHROPIC,
        "input": [
            {"type": "function_call", "call_id": "a", "name": "f", "arguments": arguments},
            {"type": "function_call_output", "call_id": "a", "output": "r"},
        ],
    }


# Request parts only a translation to another provider's API reads (chat -> Anthropic Messages, Anthropic Messages
# -> chat, Responses -> chat), each of a shape it cannot take.
UNTRANSLATABLE = {
    "chat tool_choice.function not an object": (
        "/v1/chat/completions",
        {"model": _ANTHROPIC, "messages": [_USER], "tools": _TOOLS, "tool_choice": {"type": "function", "function": 5}},
    ),
    **{
        f"chat tool call arguments {what}": ("/v1/chat/completions", _chat_with_arguments(arguments))
        for what, arguments in _BAD_ARGUMENTS.items()
    },
    "chat thinking_blocks not a list": (
        "/v1/chat/completions",
        {"model": _ANTHROPIC, "messages": [_USER, {"role": "assistant", "content": "y", "thinking_blocks": 5}, _USER]},
    ),
    **{
        f"responses function_call arguments {what}": ("/v1/responses", _responses_with_arguments(arguments))
        for what, arguments in _BAD_ARGUMENTS.items()
    },
    "responses content part type not a string": (
        "/v1/responses",
        {"model": _ANTHROPIC, "input": [{"role": "user", "content": [{"type": [1], "text": "x"}]}]},
    ),
    "messages document source not an object": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "document", "source": 5}]}],
        },
    ),
    "messages user text block's text a number": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}],
        },
    ),
    "messages assistant text block's text a list": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [_USER, {"role": "assistant", "content": [{"type": "text", "text": ["x"]}]}, _USER],
        },
    ),
    "messages tool result text a number": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [
                _USER,
                {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": 5}]}],
                },
            ],
        },
    ),
    "messages system text a number": (
        "/v1/messages",
        {"model": "gpt-4o-mini", "max_tokens": 5, "system": [{"type": "text", "text": 5}], "messages": [_USER]},
    ),
    "messages image source not an object": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "image", "source": "x"}]}],
        },
    ),
    # Fields a translation copies into the other API's request as they came: a tool's name 5 reached the provider.
    "chat tool name a number": (
        "/v1/chat/completions",
        {"model": _ANTHROPIC, "messages": [_USER], "tools": [{"type": "function", "function": {"name": 5}}]},
    ),
    "chat tool parameters not an object": (
        "/v1/chat/completions",
        {
            "model": _ANTHROPIC,
            "messages": [_USER],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}],
        },
    ),
    "chat tool call name a number": (
        "/v1/chat/completions",
        {
            "model": _ANTHROPIC,
            "messages": [
                _USER,
                {"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": 5, "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "a", "content": "r"},
            ],
        },
    ),
    "chat tool call id a number": (
        "/v1/chat/completions",
        {
            "model": _ANTHROPIC,
            "messages": [
                _USER,
                {"role": "assistant", "tool_calls": [{"id": 5, "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "a", "content": "r"},
            ],
        },
    ),
    "responses function tool name a number": (
        "/v1/responses",
        {"model": _ANTHROPIC, "input": "x", "tools": [{"type": "function", "name": 5}]},
    ),
    "responses function_call name a number": (
        "/v1/responses",
        {
            "model": _ANTHROPIC,
            "input": [
                {"type": "function_call", "call_id": "a", "name": 5, "arguments": "{}"},
                {"type": "function_call_output", "call_id": "a", "output": "r"},
            ],
        },
    ),
    "responses function_call_output call_id a number": (
        "/v1/responses",
        {
            "model": _ANTHROPIC,
            "input": [
                {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": 5, "output": "r"},
            ],
        },
    ),
    "messages tool name a number": (
        "/v1/messages",
        {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [_USER], "tools": [{"name": 5}]},
    ),
    "messages tool input_schema not an object": (
        "/v1/messages",
        {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [_USER], "tools": [{"name": "f", "input_schema": 5}]},
    ),
    "messages tool_use name a number": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [_USER, {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": 5}]}],
        },
    ),
    "messages tool_use input a string": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [
                _USER,
                {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": "x"}]},
            ],
        },
    ),
    "messages tool_result tool_use_id a number": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [
                _USER,
                {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": 5, "content": "r"}]},
            ],
        },
    ),
    "messages image data a number": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": 5}}],
                }
            ],
        },
    ),
    "messages image url a number": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": 5}}]}],
        },
    ),
    # round 16: fields the translation dropped or turned into text, where Anthropic itself answers a 400
    **{
        f"messages tool_choice {what}": (
            "/v1/messages",
            {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [_USER], "tools": [{"name": "f"}], "tool_choice": c},
        )
        for what, c in {
            "a number": 5,
            "a string": "auto",
            "of an unknown type": {"type": "sometimes"},
            "of a type that is a list": {"type": [{}]},  # once a TypeError (unhashable): a 500
        }.items()
    },
    "messages tool_choice tool without a name": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [_USER],
            "tools": [{"name": "f"}],
            "tool_choice": {"type": "tool"},
        },
    ),
    "messages text document data a number": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": 5}}]}],
        },
    ),
    "messages tool_use ids twice in a turn": (
        "/v1/messages",
        {
            "model": "gpt-4o-mini",
            "max_tokens": 5,
            "messages": [
                _USER,
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "a", "name": "f", "input": {}},
                        {"type": "tool_use", "id": "a", "name": "g", "input": {}},
                    ],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "r"}]},
            ],
        },
    ),
}


@pytest.mark.parametrize(("path", "body"), UNTRANSLATABLE.values(), ids=UNTRANSLATABLE.keys())
def test_what_a_translation_cannot_read_is_a_400_in_the_clients_shape(
    helix: Helix, fake: FakeState, path: str, body: dict[str, object]
) -> None:
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    answer = response.json()
    error = answer["error"]
    if path == "/v1/messages":
        assert answer["type"] == "error" and error["type"] == "invalid_request_error"
    else:
        assert set(error) >= {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert not fake.requests
    (row,) = helix.rows("SELECT status FROM requests")
    assert row["status"] == 400


OUT_OF_RANGE = [
    ("temperature", -1),
    ("temperature", 2.5),
    ("temperature", 1e308),
    ("top_p", -0.1),
    ("top_p", 1.5),
    ("n", 129),
    ("n", 10**30),
    ("max_tokens", 0),
    ("max_tokens", -1),
    ("max_tokens", 10**30),
    ("max_completion_tokens", -5),
    ("max_completion_tokens", 2**63),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_numbers_out_of_openais_ranges_are_400s_naming_the_parameter(
    helix: Helix, fake: FakeState, field: str, value: float
) -> None:
    body = {"model": "gpt-4o-mini", "messages": [_USER], field: value}
    response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == field and error["type"] == "invalid_request_error" and error["code"] == "invalid_value"
    assert not fake.requests


def test_numbers_at_the_edges_of_openais_ranges_pass(helix: Helix, fake: FakeState) -> None:
    for extra in ({"temperature": 0, "top_p": 1, "n": 1, "max_tokens": 1}, {"temperature": 2, "top_p": 0, "n": 128}):
        body = {"model": "gpt-4o-mini", "messages": [_USER], **extra}
        assert httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_tokens", 0), ("max_tokens", -1), ("max_tokens", 10**30), ("top_k", -5), ("top_k", 10**30)],
)
def test_an_anthropic_number_out_of_range_is_a_400_in_its_shape(
    helix: Helix, fake: FakeState, field: str, value: int
) -> None:
    """top_k -5 or 10**30 reached the provider (faults round 25)."""
    body = {"model": "anthropic/claude-3-5-haiku-latest", "max_tokens": 5, "messages": [_USER], field: value}
    response = httpx.post(f"{helix.url}/v1/messages", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error" and field in response.text
    assert not fake.requests


_SAMPLING = [{"temperature": "hot"}, {"top_p": [1]}, {"top_k": "x"}, {"stop_sequences": "x"}]
_TOOLING = [{"tool_choice": 5}, {"thinking": 5}]
WRONG_ANTHROPIC_FIELDS = [("/v1/messages", extra) for extra in _SAMPLING + _TOOLING] + [
    ("/v1/messages/count_tokens", extra) for extra in _TOOLING
]


@pytest.mark.parametrize(
    ("path", "extra"), WRONG_ANTHROPIC_FIELDS, ids=lambda v: v if isinstance(v, str) else next(iter(v))
)
def test_anthropic_fields_of_the_wrong_type_are_400s_before_any_translation(
    helix: Helix, fake: FakeState, path: str, extra: dict[str, object]
) -> None:
    """Sent to an OpenAI provider, these were translated and passed on as they were (a chat `temperature: "hot"`)."""
    body = {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [_USER], **extra}
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["type"] == "error" and next(iter(extra)) in answer["error"]["message"]
    assert not fake.requests


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon", "1e400"])
def test_a_bad_timeout_header_is_a_400_on_a_cache_hit_too(helix: Helix, fake: FakeState, value: str) -> None:
    """x-helix-timeout was only read by the router: the same bad value was a 400 on a miss, a 200 on a cache hit."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "cache me first"}]}
    assert httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30).status_code == 200
    helix.flush()
    response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, headers={"x-helix-timeout": value}, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "x-helix-timeout"
    assert len(fake.calls("/v1/chat/completions")) == 1


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_body_that_starts_with_a_byte_order_mark_is_read(helix: Helix, fake: FakeState, path: str) -> None:
    """A UTF-8 byte order mark before the JSON (Windows tools write one): ignored, as RFC 8259 allows."""
    raw = '\ufeff{"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "bom"}]}'
    response = httpx.post(helix.url + path, content=raw.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert fake.requests[-1].body["messages"][0]["content"] == "bom"


@pytest.mark.parametrize("text", ["cut \\ud83d", "cut \\ud83d more", "\\udc00 alone"])
def test_a_lone_surrogate_is_a_400_that_says_so(helix: Helix, fake: FakeState, text: str) -> None:
    """Half an emoji (a JS string cut in the middle of a pair): a 400 naming the problem, not 'truncated'."""
    raw = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "' + text + '"}]}'
    response = httpx.post(f"{helix.url}/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_json" and "surrogate" in error["message"], error
    assert "truncated" not in error["message"]
    assert not fake.requests


def _text_part(text: object) -> dict[str, object]:
    return {"type": "text", "text": text} if text != "missing" else {"type": "text"}


# A text part (block) whose text is no string, in every API's place for one, sent to a provider of each kind.
_TEXT_PLACES = {
    "chat content part": ("/v1/chat/completions", "gpt-4o-mini", "messages[0].content[0].text"),
    "chat content part to anthropic": ("/v1/chat/completions", _ANTHROPIC, "messages[0].content[0].text"),
    "responses input_text part": ("/v1/responses", "gpt-4o-mini", "input[0].content[0].text"),
    "messages text block": ("/v1/messages", "claude-3-5-haiku-latest", "messages[0].content[0].text"),
    "messages system block": ("/v1/messages", "claude-3-5-haiku-latest", "system[0].text"),
    "messages tool_result block": ("/v1/messages", "claude-3-5-haiku-latest", "messages[2].content[0].content[0].text"),
}


def _with_text_part(path: str, model: str, where: str, part: dict[str, object]) -> dict[str, object]:
    if path == "/v1/chat/completions":
        return {"model": model, "messages": [{"role": "user", "content": [part]}]}
    if path == "/v1/responses":
        return {"model": model, "input": [{"role": "user", "content": [{**part, "type": "input_text"}]}]}
    body: dict[str, object] = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": [part]}]}
    if where.startswith("system"):
        body.update(system=[part], messages=[_USER])
    elif "tool_result" in where or where.startswith("messages[2]"):
        use = {"type": "tool_use", "id": "a", "name": "f", "input": {}}
        result = {"type": "tool_result", "tool_use_id": "a", "content": [part]}
        body["messages"] = [_USER, {"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    return body


@pytest.mark.parametrize("text", [5, None, "missing", ["x"], {"text": "x"}, True])
@pytest.mark.parametrize(("path", "model", "where"), _TEXT_PLACES.values(), ids=_TEXT_PLACES.keys())
def test_a_text_part_whose_text_is_no_string_is_a_400_naming_it(
    helix: Helix, fake: FakeState, path: str, model: str, where: str, text: object
) -> None:
    """It was sent on to the provider, whose error (a 500 from a server that choked on it) came back."""
    body = _with_text_part(path, model, where, _text_part(text))
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    answer = response.json()
    if path == "/v1/messages":
        assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error"
    else:
        assert answer["error"]["param"] == where and answer["error"]["type"] == "invalid_request_error"
    assert where in answer["error"]["message"] and "string" in answer["error"]["message"]
    assert not fake.requests


@pytest.mark.parametrize("content", [5, None, {"type": "input_text", "text": "x"}])
def test_a_responses_message_whose_content_is_neither_text_nor_parts_is_a_400(
    helix: Helix, fake: FakeState, content: object
) -> None:
    body = {"model": "gpt-4o-mini", "input": [{"role": "user", "content": content}]}
    response = httpx.post(f"{helix.url}/v1/responses", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "input[0].content"
    assert not fake.requests


def test_a_function_call_output_neither_text_nor_parts_is_a_400_naming_it(helix: Helix, fake: FakeState) -> None:
    """Translated for Anthropic, a function call's `output: 5` was refused naming `input[0].content` (a helper's
    find)."""
    body = {"model": _ANTHROPIC, "input": [{"type": "function_call_output", "call_id": "c1", "output": 5}]}
    response = httpx.post(f"{helix.url}/v1/responses", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "input[0].output"
    assert not fake.requests


_PLANTED = ("jo.smith@example.com", "sk-proj-Abc123def456GHI789jkl012MNO345", "4111 1111 1111 1111")
_HUGE = "x" * 100_000
_CONTROL = "\x1b[31mred\x00"
# Helix's own 400s that quote a value of the client's, each with a value a client must not get back as sent.
_ECHOED: dict[str, tuple[str, dict[str, object]]] = {}
_VALUES = {"huge": _HUGE, "control": _CONTROL, "email": _PLANTED[0], "key": _PLANTED[1], "card": _PLANTED[2]}
for _label, _value in _VALUES.items():
    _ECHOED |= {
        f"chat role {_label}": ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": _value}]}),
        f"messages role {_label}": (
            "/v1/messages",
            {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": _value, "content": "x"}]},
        ),
        f"unknown provider {_label}": (
            "/v1/chat/completions",
            {"model": f"nope/{_value}"[:200], "messages": [_USER]},
        ),
        f"tool_choice to anthropic {_label}": (
            "/v1/chat/completions",
            {"model": _ANTHROPIC, "messages": [_USER], "tools": _TOOLS, "tool_choice": {"type": _value}},
        ),
        f"tool call name to anthropic {_label}": (
            "/v1/chat/completions",
            {
                "model": _ANTHROPIC,
                "messages": [
                    _USER,
                    {"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": _value, "arguments": "["}}]},
                    {"role": "tool", "tool_call_id": "a", "content": "r"},
                ],
            },
        ),
        f"content part type to anthropic {_label}": (
            "/v1/chat/completions",
            {"model": _ANTHROPIC, "messages": [{"role": "user", "content": [{"type": _value}]}]},
        ),
        f"messages block type to openai {_label}": (
            "/v1/messages",
            {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": _value}]}]},
        ),
        f"responses item type to anthropic {_label}": (
            "/v1/responses",
            {"model": _ANTHROPIC, "input": [{"type": _value}]},
        ),
    }


@pytest.mark.parametrize(("path", "body"), _ECHOED.values(), ids=_ECHOED.keys())
def test_a_400_quotes_no_client_value_as_sent(
    helix: Helix, fake: FakeState, path: str, body: dict[str, object]
) -> None:
    """Each quoted the value back as sent (100 KB of it, control characters, a planted key, email or card number),
    some as a Python repr ({'type': ...})."""
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert 400 <= response.status_code < 500, response.text[:500]
    assert len(response.content) < 2_000, response.text[:500]
    text = response.text
    assert response.json()["error"]["message"].isprintable() and "{'" not in text, text
    assert not any(planted in text for planted in _PLANTED), text
    assert not fake.requests


def test_a_404_quotes_a_bounded_path(helix: Helix) -> None:
    response = httpx.get(f"{helix.url}/v1/{'a' * 20_000}%1b%00/jo.smith@example.com", timeout=30)
    assert response.status_code == 404
    error = response.json()["error"]
    assert len(response.content) < 2_000 and error["message"].isprintable() and "jo.smith" not in response.text
    assert error["type"] == "not_found_error"


_PLANTED_MODELS = [
    "openai/jo.smith@example.com",
    "sk-proj-Abc123def456GHI789jkl012MNO345",
    "anthropic/AKIAIOSFODNN7EXAMPLE",
    "openai/4111 1111 1111 1111",
    "4111-1111-1111-1111",
]


@pytest.mark.parametrize("model", _PLANTED_MODELS)
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/responses"])
def test_a_model_name_holding_a_credential_email_or_card_is_a_400_and_never_sent_or_logged(
    helix: Helix, fake: FakeState, path: str, model: str
) -> None:
    """`model` is the one field the PII firewall does not rewrite (it routes the request): a planted key or email
    address in it was sent to the provider as the model's name and kept in the request log as sent."""
    body = {"model": model, "max_tokens": 5, "messages": [_USER], "input": "x"}
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert model.split("/")[-1] not in response.text
    assert not fake.requests
    (row,) = helix.rows("SELECT model_requested, model, status FROM requests")
    assert row["status"] == 400 and model.split("/")[-1] not in f"{row['model_requested']} {row['model']}"


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/v1/models", "/v1/models/gpt-4o-mini", "/metrics"])
def test_head_is_answered_wherever_get_is(helix: Helix, path: str) -> None:
    """Uptime checkers and load balancers probe with HEAD: it was a 405 on /health."""
    got = httpx.get(f"{helix.url}{path}", timeout=30)
    response = httpx.head(f"{helix.url}{path}", timeout=30)
    assert response.status_code == got.status_code == 200, response.headers
    assert response.content == b"" and response.headers["content-type"] == got.headers["content-type"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/responses"])
def test_head_on_a_post_route_is_a_405_saying_what_it_takes(helix: Helix, fake: FakeState, path: str) -> None:
    response = httpx.head(f"{helix.url}{path}", timeout=30)
    assert response.status_code == 405 and "POST" in response.headers["allow"] and response.content == b""
    assert not fake.requests


@pytest.mark.parametrize(
    ("method", "path", "takes"),
    [("GET", "/v1/chat/completions", "POST"), ("DELETE", "/v1/messages", "POST"), ("POST", "/v1/models", "GET")],
)
def test_a_wrong_method_is_a_405_naming_the_one_to_send(
    helix: Helix, fake: FakeState, method: str, path: str, takes: str
) -> None:
    """It said "Method Not Allowed" and no more (curl without -d, a GET from a browser's address bar)."""
    response = httpx.request(method, f"{helix.url}{path}", timeout=30)
    assert response.status_code == 405
    error = response.json()["error"]
    assert error["message"] == f"'{path}' takes {takes}, not '{method}'" and error["type"] == "invalid_request_error"
    assert not fake.requests
    assert response.headers["x-helix-request-id"].startswith("req_")  # quotable, as every answer


# The numbers Helix reads to reserve budget and tokens, out of OpenAI's ranges on the other endpoints that take them.
OUT_OF_RANGE_ELSEWHERE = [
    ("/v1/completions", "max_tokens", -1),
    ("/v1/completions", "max_tokens", 0),
    ("/v1/completions", "max_tokens", 10**30),
    ("/v1/completions", "n", 0),
    ("/v1/completions", "n", -1),
    ("/v1/completions", "n", 10**30),
    ("/v1/completions", "temperature", 3),
    ("/v1/responses", "max_output_tokens", -1),
    ("/v1/responses", "max_output_tokens", 0),
    ("/v1/responses", "max_output_tokens", 10**30),
    ("/v1/responses", "top_p", 1.5),
]


@pytest.mark.parametrize("stop", [{"a": 1}, 5, True, [1, 2]])
def test_a_completions_stop_of_the_wrong_type_is_a_400_naming_it(helix: Helix, fake: FakeState, stop: object) -> None:
    """Checked on chat, it reached the provider as it came on the legacy completions (faults round 25)."""
    body = {"model": "gpt-4o-mini", "prompt": "x", "stop": stop}
    response = httpx.post(f"{helix.url}/v1/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert "stop" in response.json()["error"]["message"]
    assert not fake.requests


@pytest.mark.parametrize(("path", "field", "value"), OUT_OF_RANGE_ELSEWHERE)
def test_numbers_out_of_range_on_completions_and_responses_are_400s_naming_them(
    helix: Helix, fake: FakeState, path: str, field: str, value: float
) -> None:
    """They were sent on as they came (n 0, max_tokens -1), or refused as a 429 'request too large: it may use about
    1,000,000,000,000,000,000,000,000,000,009 tokens' under a key's token limit."""
    body = {"model": "gpt-4o-mini", "prompt": "x", "input": "x", field: value}
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == field and error["type"] == "invalid_request_error" and error["code"] == "invalid_value"
    assert not fake.requests


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/responses"])
@pytest.mark.parametrize("model", ["openai/模型", "模型", "anthropic/модель"])
def test_a_model_name_beyond_ascii_is_a_400_not_a_500(helix: Helix, fake: FakeState, path: str, model: str) -> None:
    """No provider names a model so; its name went on to the x-helix-model header, which HTTP carries in latin-1 at
    most: a plain-text 500 'Internal Server Error' (logged as a 200 on chat), or Helix's own internal error."""
    body = {"model": model, "max_tokens": 5, "messages": [_USER], "input": "x"}
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert not fake.requests


_TWO_TOOLS = [{"type": "function", "function": {"name": "f"}}]


# Chat requests an Anthropic provider cannot take, and the field each 400 names.
UNTRANSLATED_FIELDS = {
    "tool_choice": {"tools": _TWO_TOOLS, "tool_choice": {"type": "function"}},
    "n": {"n": 2},
    "tools[0]": {"tools": [{"type": "retrieval"}]},
    "messages[1]": {"messages": [_USER, {"role": "tool", "content": "r"}]},
}


@pytest.mark.parametrize(("param", "extra"), UNTRANSLATED_FIELDS.items(), ids=UNTRANSLATED_FIELDS.keys())
def test_a_request_anthropic_cannot_take_is_a_400_naming_the_field(
    helix: Helix, fake: FakeState, param: str, extra: dict[str, object]
) -> None:
    """The field was named only in the message: `param` was null."""
    body = {"model": _ANTHROPIC, "messages": [_USER], **extra}
    response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    assert not fake.requests


@pytest.mark.parametrize("header", ["x-helix-user", "x-helix-cache-namespace"])
@pytest.mark.parametrize("value", [b"a\x9b31mb", b"\x85", b"x\xc2\x9by"], ids=["C1 byte", "NEL", "C1 in UTF-8"])
def test_a_c1_control_character_in_a_text_header_is_a_400(
    helix: Helix, fake: FakeState, header: str, value: bytes
) -> None:
    """C0 controls and DEL were refused, C1 (\\x9b: a terminal's escape) passed into the cache key and the user id."""
    body = {"model": "gpt-4o-mini", "messages": [_USER]}
    response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, headers={header: value}, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == header and error["code"] == "invalid_header"
    assert not fake.requests


@pytest.mark.parametrize(
    "user",
    ["\x1b[2J\x1b[31mroot", "bob\nmallory  $999.99", "\u202eevil", "a\x9bb"],
    ids=["ESC", "newline", "RLO", "C1"],
)
def test_a_control_character_in_the_user_field_is_a_400(helix: Helix, fake: FakeState, user: str) -> None:
    """The `user` field's escape sequences, newlines and right-to-left overrides were stored and printed raw by
    `helix spend --by user` and `helix logs` (faults round 27: a fake "mallory $999.99" row); the header was refused."""
    body = {"model": "gpt-4o-mini", "messages": [_USER], "user": user}
    response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "user"
    assert not fake.requests


def test_a_user_header_in_utf8_is_the_user_the_user_field_names(helix: Helix, fake: FakeState) -> None:
    """A header's bytes were read as latin-1 only: `x-helix-user: équipe-ß-€` was another user (budget, spend) than
    the `user` field "équipe-ß-€", and its € and ß (whose UTF-8 holds bytes 0x80-0x9f) read as C1 controls."""
    name, url = "équipe-ß-€", f"{helix.url}/v1/chat/completions"
    by_field = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "one"}], "user": name}
    by_header = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "two"}]}
    assert httpx.post(url, json=by_field, timeout=30).status_code == 200
    assert httpx.post(url, json=by_header, headers={"x-helix-user": name.encode()}, timeout=30).status_code == 200
    refused = httpx.post(url, content=b"{", headers={"x-helix-user": name.encode()}, timeout=30)
    assert refused.status_code == 400
    users = [row["user"] for row in helix.rows("SELECT user FROM requests ORDER BY ts")]
    assert len(users) == 3 and users[0] is not None and len(set(users)) == 1, users


@pytest.mark.parametrize(
    ("header", "model"),
    [("openai-beta", "gpt-4o-mini"), ("anthropic-beta", _ANTHROPIC), ("anthropic-version", _ANTHROPIC)],
)
@pytest.mark.parametrize("value", [b"caf\xc3\xa9", b"\xe9", b"a\xa0b"], ids=["UTF-8", "latin-1", "NBSP"])
def test_a_forwarded_header_beyond_ascii_is_left_out_not_a_500(
    helix: Helix, fake: FakeState, header: str, model: str, value: bytes
) -> None:
    """The headers passed on to the provider (its betas and versions) were checked for control characters only: a
    value beyond ASCII made the HTTP client raise, a 500 "internal error", as a control character is left out."""
    body = {"model": model, "messages": [_USER]}
    response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, headers={header: value}, timeout=30)
    assert response.status_code == 200, response.text
    assert fake.requests[-1].headers.get(header, "").isascii()  # left out (anthropic-version: Helix's own)


@pytest.mark.parametrize("content", [5, [[1, "x"]], ["text"], {"type": "text", "text": "x"}, True])
@pytest.mark.parametrize("model", [_ANTHROPIC, "gpt-4o-mini"])
def test_a_tool_result_whose_content_is_neither_text_nor_blocks_is_a_400(
    helix: Helix, fake: FakeState, model: str, content: object
) -> None:
    """Sent as it came to Anthropic (whose API answers a 400; a server that choked on it, a 500 passed back)."""
    use = {"type": "tool_use", "id": "a", "name": "f", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "a", "content": content}
    messages = [_USER, {"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        body = {"model": model, "max_tokens": 5, "messages": messages}
        response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
        assert response.status_code == 400, response.text
        answer = response.json()
        assert answer["type"] == "error" and "messages[2].content[0].content" in answer["error"]["message"]
    assert not fake.requests


@pytest.mark.parametrize("path", ["/v1/realtime?model=gpt-4o-realtime-preview", "/v1/chat/completions", "/health"])
def test_a_websocket_is_refused_with_a_404_in_openais_shape(helix: Helix, path: str) -> None:
    """A WebSocket handshake (OpenAI's Realtime API is one) was closed unanswered: a 403 with no body at all."""
    handshake = (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", helix.server.port), timeout=10) as s:
        s.sendall(handshake.encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404"), answer
    error = json.loads(body)["error"]
    assert error["type"] == "not_found_error" and "WebSocket" in error["message"] and set(error) >= {"param", "code"}


@pytest.mark.parametrize(
    ("method", "path", "status", "kind"),
    [
        ("POST", "/v1/messages/batches", 404, "not_found_error"),
        ("GET", "/v1/messages", 405, "invalid_request_error"),
        ("GET", "/v1/messages/count_tokens", 405, "invalid_request_error"),
    ],
)
def test_an_unknown_route_or_method_on_the_anthropic_api_is_answered_in_its_shape(
    helix: Helix, method: str, path: str, status: int, kind: str
) -> None:
    """Anthropic's SDK reads only its own error shape: these were in OpenAI's (its Batches API is one Helix lacks)."""
    response = httpx.request(method, f"{helix.url}{path}", json={}, timeout=30)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["type"] == "error" and answer["error"]["type"] == kind and answer["error"]["message"], answer
    assert response.headers["x-helix-request-id"].startswith("req_")


@pytest.mark.parametrize(
    "models",
    [[f"m{i}" for i in range(1001)], ",".join(f"m{i}" for i in range(1001)), ["x" * 300], ["a\u00e9"], ["a\nb"]],
    ids=["1001 in a list", "1001 in a string", "a name too long", "beyond ascii", "a line break"],
)
def test_a_keys_model_list_too_long_or_of_no_names_is_a_400(exposed: Helix, models: object) -> None:
    """A key's allow-list had no cap: 100,000 names (each request's model is matched against them all), or names no
    model could have, were stored as sent."""
    admin = {"authorization": f"Bearer {ADMIN}"}
    response = httpx.post(f"{exposed.url}/admin/keys", json={"name": "k", "models": models}, headers=admin, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "models"
    created = httpx.post(f"{exposed.url}/admin/keys", json={"name": "k", "models": ["m"]}, headers=admin, timeout=30)
    assert created.status_code in (200, 201), created.text
    changed = httpx.patch(f"{exposed.url}/admin/keys/k", json={"models": models}, headers=admin, timeout=30)
    assert changed.status_code == 400, changed.text
