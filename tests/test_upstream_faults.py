"""A misbehaving provider, through the real server: its errors are passed on safely, its garbage never cuts a stream."""

from __future__ import annotations

import codecs
import gzip
import json
import re
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import openai
import pytest

from helix.providers.http import iter_sse
from tests.conftest import Helix, start_helix
from tests.fake_upstream import WRONG_CHOICES, WRONG_EMBEDDINGS, WRONG_RESPONSES, FakeState, ServerThread

OPENAI_KEY = "sk-proj-Abc123def456GHI789jkl012MNO345"
ANTHROPIC_KEY = "sk-ant-api03-Zyx987wvu654TSR321qpo098"


@pytest.fixture
def keyed(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    env = {"HELIX_PROVIDERS__OPENAI__API_KEY": OPENAI_KEY, "HELIX_PROVIDERS__ANTHROPIC__API_KEY": ANTHROPIC_KEY}
    instance = start_helix(tmp_path, upstream[0].url, env=env)
    yield instance
    instance.server.stop()


def post(helix: Helix, model: str, **extra: object) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "x"}], **extra}
    return httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)


@pytest.mark.parametrize("model", ["fail-429", "fail-503", "anthropic/fail-429"])
def test_upstream_retry_after_is_passed_on(helix: Helix, fake: FakeState, model: str) -> None:
    response = post(helix, model)
    assert response.status_code == int(model.rsplit("-", 1)[1])
    assert response.headers["retry-after"] == "7"


@pytest.mark.parametrize(("model", "secret"), [("fail-401", OPENAI_KEY), ("anthropic/fail-401", ANTHROPIC_KEY)])
def test_a_provider_401_is_a_502_without_its_key(keyed: Helix, fake: FakeState, model: str, secret: str) -> None:
    response = post(keyed, model)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_auth_error" and error["type"] == "upstream_error"
    assert "Incorrect API key provided: [redacted]" in error["message"]
    assert secret not in response.text and secret[:12] not in response.text
    # The client's SDK must not take it for its own bad Helix key.
    with pytest.raises(openai.APIStatusError) as raised:
        keyed.client().chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert not isinstance(raised.value, openai.AuthenticationError)


@pytest.mark.parametrize(
    "secret", ["9f3b2c7d1e8a4f6b0c5d2e9a7b3f1c8d", "Xb7Kq2Lm9Pz4Rt8Vn3Wc6Yd1Fg5Hj0Sa", "sk-upstream-test"]
)
def test_a_provider_401_never_echoes_a_key_of_no_known_format(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], secret: str
) -> None:
    """A key in no vendor's format (Azure's 32 hex digits, a self-hosted server's) echoed by the provider's 401 went to
    whichever client asked (faults round 15): the provider's own credentials are taken out of what it says."""
    env = {"HELIX_PROVIDERS__OPENAI__API_KEY": secret, "HELIX_PROVIDERS__ANTHROPIC__API_KEY": secret}
    instance = start_helix(tmp_path, upstream[0].url, env=env)
    try:
        for model in ("fail-401", "anthropic/fail-401"):
            response = post(instance, model)
            assert response.status_code == 502 and "Incorrect API key provided: [redacted]" in response.text
            assert secret not in response.text
    finally:
        instance.server.stop()


def test_a_garbled_first_stream_event_is_a_502_in_openais_shape(helix: Helix, fake: FakeState) -> None:
    response = post(helix, "garbled-first", stream=True)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_bad_stream" and error["provider"] == "openai"
    (row,) = helix.rows("SELECT status, error_code FROM requests")
    assert (row["status"], row["error_code"]) == (502, "upstream_bad_stream")


def test_a_garbled_event_mid_stream_ends_it_with_an_error_event(helix: Helix, fake: FakeState) -> None:
    body = {"model": "garbled-later", "messages": [{"role": "user", "content": "tell me more"}], "stream": True}
    with httpx.stream("POST", f"{helix.url}/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        text = response.read().decode()  # a cut connection would raise here
    events = [line.removeprefix("data: ") for line in text.split("\n\n") if line]
    assert events[0].startswith("{") and '"choices"' in events[0]
    assert '"upstream_bad_stream"' in events[-1]
    with pytest.raises(openai.APIError, match="not a JSON object"):
        for _ in helix.client().chat.completions.create(
            model="garbled-later", messages=[{"role": "user", "content": "again"}], stream=True
        ):
            pass


def test_a_huge_answer_is_passed_on_but_not_cached(helix: Helix, fake: FakeState) -> None:
    first = post(helix, "big-2000000")
    assert first.status_code == 200 and len(first.json()["choices"][0]["message"]["content"]) == 2_000_000
    helix.flush()
    assert post(helix, "big-2000000").headers["x-helix-cache"] == "MISS"
    assert len(fake.calls("/v1/chat/completions")) == 2
    assert helix.rows("SELECT count(*) AS n FROM cache_entries")[0]["n"] == 0


def test_a_streamed_answer_over_the_entry_cap_is_not_assembled_or_cached(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    instance = start_helix(tmp_path, upstream[0].url, env={"HELIX_CACHE__MAX_ENTRY_KB": "2"})
    try:
        client = instance.client()
        for text in ("w" * 3_000, "short question"):
            for _ in range(2):
                chunks = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
                )
                assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"echo: {text}"
                instance.flush()
        rows = instance.rows("SELECT cache FROM requests ORDER BY ts")
        assert [r["cache"] for r in rows] == ["MISS", "MISS", "MISS", "HIT-EXACT"]
    finally:
        instance.server.stop()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["garbage-usage", "huge-usage", "absurd-usage"])
def test_garbage_in_a_providers_usage_neither_fails_the_answer_nor_poisons_the_log(
    helix: Helix, fake: FakeState, model: str, stream: bool
) -> None:
    client, messages = helix.client(), [{"role": "user", "content": "how many tokens"}]
    for _ in range(2):  # the second is answered from the cache, which stored the entry despite the usage
        if stream:
            chunks = client.chat.completions.create(model=model, messages=messages, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            text = client.chat.completions.create(model=model, messages=messages).choices[0].message.content or ""
        assert text == "echo: how many tokens"
    rows = helix.rows("SELECT status, cache, prompt_tokens, completion_tokens, cost_usd FROM requests ORDER BY ts")
    assert [(r["status"], r["cache"]) for r in rows] == [(200, "MISS"), (200, "HIT-EXACT")]
    assert (rows[0]["prompt_tokens"], rows[0]["completion_tokens"]) == (None, None)  # unknown, not 10**30 or -5
    assert helix.rows("SELECT count(*) AS n FROM write_failures")[0]["n"] == 0


def test_more_output_than_the_client_allowed_for_is_billed_at_the_estimate(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    """100,000 output tokens for `max_tokens: 5` were believed and billed (faults round 27: $300 on a $5 key, and a
    token rate limit in debt for two weeks); a provider stops at the limit, so it is garbage: the estimate is charged.
    Without a limit the same count is the answer's, and so is reasoning a provider reports beyond the limit (DeepSeek's
    reasoner thinks past max_tokens: a review found it billed at a sixth)."""
    prices = "".join(
        f'[pricing."openai/{m}"]\ninput = 1.0\noutput = 1.0\n' for m in ("overlong-usage", "reasoning-usage")
    )
    helix = start_helix(tmp_path, upstream[0].url, prices)
    try:
        _ask_overlong(helix)
    finally:
        helix.server.stop()


def _ask_overlong(helix: Helix) -> None:
    client, messages = helix.client(), [{"role": "user", "content": "how many tokens"}]
    for model, limit in (("overlong-usage", 5), ("overlong-usage", None), ("reasoning-usage", 1000)):
        extra = {"max_tokens": limit} if limit else {}
        client.chat.completions.create(model=model, messages=messages, extra_headers=NO_STORE, extra_body=extra)
    helix.flush()
    rows = helix.rows("SELECT completion_tokens, cost_usd FROM requests ORDER BY ts")
    assert [r["completion_tokens"] for r in rows] == [None, 100_000, 6000]
    assert rows[0]["cost_usd"] is not None and rows[0]["cost_usd"] < rows[1]["cost_usd"] / 100
    assert rows[2]["cost_usd"] == pytest.approx(6020 / 1e6)


NO_STORE = {"cache-control": "no-cache, no-store"}


def test_garbage_usage_translated_for_an_anthropic_client_is_numbers(helix: Helix, fake: FakeState) -> None:
    body = {"model": "garbage-usage", "max_tokens": 50, "messages": [{"role": "user", "content": "count"}]}
    response = httpx.post(f"{helix.url}/v1/messages", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["input_tokens"] == 0 and response.json()["usage"]["output_tokens"] == 0


@pytest.mark.parametrize(
    ("model", "said", "code"),
    [
        # whole, and of no use: not an answer that broke off, which is billed at the estimate (faults round 28)
        ("bad-gzip", "does not decode as its Content-Encoding says", "upstream_bad_answer"),
        # the provider was reached: the log row says what it answered, not that it was out of reach
        ("redirect", "302", "upstream_redirect"),
        ("invalid-json", "not valid JSON", "upstream_bad_answer"),
    ],
)
def test_an_undecodable_or_redirected_answer_is_a_502(
    helix: Helix, fake: FakeState, model: str, said: str, code: str
) -> None:
    response = post(helix, model)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["type"] == "upstream_error" and error["provider"] == "openai" and said in error["message"]
    assert error["code"] == code
    (row,) = helix.rows("SELECT status, error_code, cost_usd FROM requests")
    assert (row["status"], row["error_code"], row["cost_usd"]) == (502, code, None)


@contextmanager
def raw_upstream(
    answer: bytes | list[bytes], gap: float = 0.3, connections: list[int] | None = None, reset: bool = False
) -> Iterator[str]:
    """An "upstream" that answers every connection with `answer`, whatever was asked, then closes it (`reset`: with a
    TCP reset, as a crashed server's does); a list's parts are sent `gap` seconds apart. Each connection accepted is
    appended to `connections`."""
    parts = answer if isinstance(answer, list) else [answer]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if connections is not None:
                connections.append(len(connections))
            threading.Thread(target=answer_one, args=(conn,), daemon=True).start()

    def answer_one(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            with suppress(OSError):
                conn.recv(65536)
                for i, part in enumerate(parts):
                    if i:
                        time.sleep(gap)
                    conn.sendall(part)
                if reset:
                    time.sleep(0.2)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


NOT_HTTP = b"SSH-2.0-OpenSSH_9.2\r\nthis is not HTTP\r\n\r\n"
# A status line no HTTP client or server knows: passed on as it was, it cut the client's connection.
STATUS_999 = b"HTTP/1.1 999 Odd\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("answer", "code"), [(NOT_HTTP, "upstream_unreachable"), (STATUS_999, None)])
def test_an_upstream_that_does_not_speak_http_is_a_502(
    tmp_path: Path, stream: bool, answer: bytes, code: str | None
) -> None:
    with raw_upstream(answer) as url:
        instance = start_helix(tmp_path, url)
        try:
            response = post(instance, "gpt-4o-mini", stream=stream)
            assert response.status_code == 502, response.text
            assert response.json()["error"]["code"] == code
            assert response.json()["error"]["type"] == "upstream_error"
        finally:
            instance.server.stop()


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_an_anthropic_answer_of_the_wrong_shape_is_a_502_in_the_clients_shape(
    helix: Helix, fake: FakeState, path: str
) -> None:
    body = {"model": "anthropic/wrong-shape", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert "unexpected shape" in error["message"]
    assert response.json().get("type") == ("error" if path == "/v1/messages" else None)


@pytest.mark.parametrize(
    ("model", "said"),
    [("wrong-shape", "unexpected shape"), ("wrong-text", "unexpected shape"), ("error-string", "overloaded")],
)
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_an_anthropic_stream_event_of_the_wrong_shape_ends_the_stream_with_an_error(
    helix: Helix, fake: FakeState, path: str, model: str, said: str
) -> None:
    body = {
        "model": f"anthropic/{model}",
        "max_tokens": 20,
        "stream": True,
        "messages": [{"role": "user", "content": "tell me a long story"}],
    }
    with httpx.stream("POST", f"{helix.url}{path}", json=body, timeout=30) as response:
        text = response.read().decode()
    # before any of the answer (round 18: the role's chunk waits for it), the client's status says so
    assert response.status_code == 502
    assert '"error"' in text and said in text and "internal error" not in text
    (row,) = helix.rows("SELECT status FROM requests")
    assert row["status"] == 502


def _refused_twice(helix: Helix, fake: FakeState, path: str, body: dict[str, object]) -> None:
    """`body` sent twice: each time a 502 (or, once a stream has begun, an error event at its end) saying the
    answer was of an unexpected shape, each time asked of the provider (nothing cached), and no 500."""
    stream = bool(body.get("stream"))
    sent = []
    for _ in range(2):
        response = httpx.post(f"{helix.url}{path}", json=body, timeout=30)
        if stream and response.status_code == 200:  # the stream had begun: it ends with an error event
            last = json.loads([line for line in response.text.split("\n") if line.startswith("data: ")][-1][6:])
            error = last.get("error", last)  # a Responses stream's error event is flat
            assert last.get("type", "error") == "error", last
        else:
            assert response.status_code == 502, response.text
            error = response.json()["error"]
        assert error["code"] == ("upstream_bad_stream" if stream else "upstream_bad_answer"), error
        assert "unexpected shape" in error["message"]
        sent.append(len(fake.calls(path)))
    assert sent[1] > sent[0]  # asked the provider again: nothing was served from the cache
    assert helix.rows("SELECT count(*) AS n FROM cache_entries")[0]["n"] == 0


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", sorted(WRONG_CHOICES))
def test_openai_choices_of_the_wrong_shape_are_a_502_and_never_cached(
    helix: Helix, fake: FakeState, model: str, stream: bool
) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "x"}], "stream": stream}
    _refused_twice(helix, fake, "/v1/chat/completions", body)


@pytest.mark.parametrize("model", sorted(WRONG_EMBEDDINGS))
def test_embeddings_of_the_wrong_shape_are_a_502(helix: Helix, fake: FakeState, model: str) -> None:
    _refused_twice(helix, fake, "/v1/embeddings", {"model": model, "input": "hello"})


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", sorted(WRONG_RESPONSES))
def test_responses_of_the_wrong_shape_are_a_502_and_never_cached(
    helix: Helix, fake: FakeState, model: str, stream: bool
) -> None:
    _refused_twice(helix, fake, "/v1/responses", {"model": model, "input": "hello", "stream": stream})


DEEP = b"[" * 100_000 + b"]" * 100_000


def _answer(status: int, body: bytes, content_type: bytes = b"application/json") -> bytes:
    head = b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n" % (status, content_type, len(body))
    return head + body


@pytest.mark.parametrize(("status", "expected"), [(200, 502), (400, 400), (503, 503)])
def test_an_answer_nested_too_deeply_to_decode_is_no_500(tmp_path: Path, status: int, expected: int) -> None:
    """A provider's answer (or error body) of JSON nested 100,000 deep: not JSON Helix can read, never a 500."""
    with raw_upstream(_answer(status, DEEP)) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini")
            assert response.status_code == expected, response.text
            assert response.json()["error"]["provider"] == "openai"
            (row,) = instance.rows("SELECT status FROM requests")
            assert row["status"] == expected
        finally:
            instance.server.stop()


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_that_trickles_in_is_cut_at_the_deadline(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], stream: bool
) -> None:
    """A byte every 0.2 s never trips the 2 s read timeout (it bounds each read): the 3 s deadline still ends the
    attempt, with a 504, and the log row says so."""
    instance = start_helix(tmp_path, upstream[0].url, "[routing]\nretries = 0\ndeadline = 3.0\n")
    try:
        began = time.monotonic()
        response = post(instance, "trickle", stream=stream)
        assert response.status_code == 504, response.text
        assert response.json()["error"]["code"] == "upstream_timeout"
        assert time.monotonic() - began < 6
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (504, "upstream_timeout")
        assert post(instance, "gpt-4o-mini").status_code == 200
    finally:
        instance.server.stop()


def test_a_stream_that_sends_only_keep_alives_after_its_first_chunk_is_cut_at_the_read_timeout(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    """Each ": ping" kept every read short, so the read timeout never tripped and the deadline no longer applied (the
    answer had begun): the client waited for as long as the provider kept pinging. Now the read timeout bounds the
    time between events too: the stream ends with an upstream_timeout error event, logged as such."""
    instance = start_helix(tmp_path, upstream[0].url, "[routing]\nretries = 0\n")  # a read timeout of 2 s
    try:
        began = time.monotonic()
        response = post(instance, "keepalive-stall", stream=True)
        assert response.status_code == 200, response.text  # the first chunk went out before the stall
        last = json.loads([line for line in response.text.split("\n") if line.startswith("data: ")][-1][6:])
        assert last["error"]["code"] == "upstream_timeout", last
        assert time.monotonic() - began < 6
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (504, "upstream_timeout")
    finally:
        instance.server.stop()


def _events(end: bytes) -> bytes:
    chunks = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}
        for choice in (
            {"index": 0, "delta": {"role": "assistant", "content": "hel"}, "finish_reason": None},
            {"index": 0, "delta": {"content": "lo"}, "finish_reason": None},
            {"index": 0, "delta": {}, "finish_reason": "stop"},
        )
    ]
    lines = [b": ping", b"id: 1", b"retry: 1000"]
    for chunk in chunks:
        lines += [b"event: message", b"data: " + json.dumps(chunk).encode(), b""]
    return end.join([*lines, b"data: [DONE]", b""]) + end


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_sse_line_ending_is_read(tmp_path: Path, end: bytes) -> None:
    """SSE lines may end with LF, CRLF or a lone CR; comments and id/retry fields are skipped."""
    _streams_hello(tmp_path, _events(end))


def _streams_hello(tmp_path: Path, events: bytes) -> None:
    """An upstream streaming `events` reaches the SDK as the whole "hello", logged a 200."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    with raw_upstream(head + events) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            stream = instance.client().chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
            )
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "hello"
            (row,) = instance.rows("SELECT status FROM requests")
            assert row["status"] == 200
        finally:
            instance.server.stop()


@pytest.mark.parametrize("form", ["byte order mark", "data over several lines"])
def test_a_stream_in_a_rarer_sse_form_reaches_the_sdk_whole(tmp_path: Path, form: str) -> None:
    """A byte order mark before the first line (to be skipped, says SSE) made that line a field of no known name: the
    first event was lost, the answer came back short and was logged a 200. An event's data over several `data:`
    lines was passed on as sent, its second line without `data:`, and the SDK failed on half a JSON text."""
    events = _events(b"\n")
    if form == "byte order mark":  # right before the first event's data line
        events = codecs.BOM_UTF8 + events[events.index(b"data: ") :]
    else:
        events = events.replace(b', "', b',\ndata: "')
    _streams_hello(tmp_path, events)


def test_a_stream_line_that_never_ends_is_cut_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An upstream that sends data and never a line ending: refused once past the event cap (lowered here to
    64 KB), not buffered until the memory runs out."""
    from helix.providers import http

    monkeypatch.setattr(http, "MAX_EVENT_BYTES", 64 * 1024)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    first = _events(b"\n").split(b"\n\n")[0] + b"\n\n"
    with raw_upstream(head + first + b"data: " + b"z" * 300_000) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": True}
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
            assert response.status_code == 200
            last = [line for line in response.text.split("\n\n") if line][-1]
            assert json.loads(last.removeprefix("data: "))["error"]["code"] == "upstream_bad_stream"
            (row,) = instance.rows("SELECT status, error_code FROM requests")
            assert (row["status"], row["error_code"]) == (502, "upstream_bad_stream")
        finally:
            instance.server.stop()


def _big_answer(framing: str) -> bytes:
    """A valid 300 KB completion: gzipped to ~1 KB, without a length (read to the close), or with its length."""
    completion = {"choices": [{"index": 0, "message": {"content": "z" * 300_000}, "finish_reason": "stop"}]}
    body = json.dumps(completion).encode()
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    if framing == "gzip":
        body = gzip.compress(body)
        head += b"content-encoding: gzip\r\n"
    head += b"connection: close\r\n" if framing == "no length" else b"content-length: %d\r\n" % len(body)
    return head + b"\r\n" + body


@pytest.mark.parametrize("framing", ["gzip", "no length", "length"])
def test_an_answer_past_the_cap_is_a_502_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, framing: str
) -> None:
    """A whole answer (decoded: a gzip bomb is small on the wire) past the cap on answers, lowered here to 64 KB,
    is refused rather than read into memory however large it is."""
    from helix.providers import http

    monkeypatch.setattr(http, "MAX_TEXT_ANSWER_BYTES", 64 * 1024)
    with raw_upstream(_big_answer(framing)) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini")
            assert response.status_code == 502, response.text[:300]
            assert response.json()["error"]["code"] == "upstream_bad_answer"
            (row,) = instance.rows("SELECT status, error_code FROM requests")
            assert (row["status"], row["error_code"]) == (502, "upstream_bad_answer")
        finally:
            instance.server.stop()


@pytest.mark.parametrize(
    "answer",
    [{}, {"id": "r", "object": "response", "status": "completed"}, {"id": "c", "object": "chat.completion"}],
    ids=["empty object", "no output", "chat without choices"],
)
def test_a_responses_answer_with_nothing_to_read_is_a_502(tmp_path: Path, answer: dict[str, object]) -> None:
    """A Responses answer without its output (or, in chat's shape, without choices) was a 200 passed on as it came
    (or turned into a response with no output): no answer at all, so a 502."""
    with raw_upstream(_answer(200, json.dumps(answer).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = httpx.post(f"{instance.url}/v1/responses", json={"model": "gpt-4o-mini", "input": "x"})
            assert response.status_code == 502, response.text
            assert response.json()["error"]["code"] == "upstream_bad_answer"
        finally:
            instance.server.stop()


def test_a_stream_that_says_done_before_any_finish_reason_is_not_cached(tmp_path: Path) -> None:
    """`[DONE]` with no chunk giving a finish_reason: the answer may be cut short; passed on, never replayed."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    events = _events(b"\n").split(b"\n\n")
    with raw_upstream(head + b"\n\n".join(events[:2]) + b"\n\ndata: [DONE]\n\n") as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": True}
            for _ in range(2):
                response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
                assert response.status_code == 200 and response.headers["x-helix-cache"] == "MISS", response.text
                assert '"content":"lo"' in response.text.replace(" ", "")
        finally:
            instance.server.stop()


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_a_stream_that_says_done_before_any_chunk_is_a_502(tmp_path: Path, path: str) -> None:
    """`[DONE]` and nothing before it: no answer at all, which was a 200 with an empty stream; now the truncated
    stream's 502 (before anything was sent, so the router may try elsewhere)."""
    with raw_upstream(_STREAM_HEAD + b": ping\n\ndata: [DONE]\n\n") as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "x"}],
                "prompt": "x",
                "stream": True,
            }
            if path == "/v1/completions":
                del body["messages"]
            response = httpx.post(f"{instance.url}{path}", json=body, timeout=30)
            assert response.status_code == 502, response.text
            assert response.json()["error"]["code"] == "upstream_truncated_stream"
            (row,) = instance.rows("SELECT status, error_code FROM requests")
            assert (row["status"], row["error_code"]) == (502, "upstream_truncated_stream")
        finally:
            instance.server.stop()


def _chunked(events: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events)


@pytest.mark.parametrize("stream", [True, False])
def test_an_answer_whose_chunked_framing_breaks_after_it_began_ends_at_once(tmp_path: Path, stream: bool) -> None:
    """A chunk size that is no number, after the first chunks: aiohttp closed the connection but never woke the read
    of the body, which waited past every timeout (a stream for ever, an answer until the 600 s deadline)."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    events = [e + b"\n\n" for e in _events(b"\n").split(b"\n\n")[:2]]
    with raw_upstream([head + _chunked(events), b"zz\r\nlol\r\n"]) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": stream}
            started = time.monotonic()
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
            assert time.monotonic() - started < 10
            if stream:
                assert response.status_code == 200 and '"error"' in response.text and "[DONE]" not in response.text
            else:
                assert response.status_code == 502, response.text
            (row,) = instance.rows("SELECT status FROM requests")
            assert row["status"] == 502
        finally:
            instance.server.stop()


def test_an_sse_error_event_mid_stream_is_the_providers_error_and_never_cached(tmp_path: Path) -> None:
    """`event: error` whose data is the error itself (no `error` key) was passed on as a chat chunk, and when the
    provider went on to finish, the answer was a clean 200 and cached."""
    parts = _events(b"\n").split(b"\n\n")
    error = b'event: error\ndata: {"message": "boom", "type": "server_error"}'
    with raw_upstream(_STREAM_HEAD + b"\n\n".join([*parts[:2], error, *parts[2:]])) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": True}
            for _ in range(2):
                response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
                assert response.headers.get("x-helix-cache") != "HIT-EXACT"
                assert "boom" in response.text and "[DONE]" not in response.text, response.text
            assert [r["status"] for r in instance.rows("SELECT status FROM requests")] == [502, 502]
        finally:
            instance.server.stop()


def test_a_stream_of_usage_alone_is_a_truncated_stream(tmp_path: Path) -> None:
    """A usage chunk (no choices) and `[DONE]`: no answer at all, which reached the client as an empty 200."""
    usage = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []}
    usage["usage"] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    _assert_truncated_stream(tmp_path, _STREAM_HEAD + b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_stream_that_ends_inside_an_event_is_a_truncated_stream(tmp_path: Path, gzipped: bool) -> None:
    """A stream whose body ended cleanly in the middle of an event's JSON (a gzip body cut short, a proxy's buffer)
    was answered as a garbled event (`upstream_bad_stream`, "not a JSON object"): it is a stream that ended before its
    answer did. A last event with no blank line after it is still read when it is whole."""
    events = _events(b"\n").split(b"\n\n")
    cut = b"\n\n".join(events[:2]) + b'\n\ndata: {"id": "c", "object": "chat.completion.chunk", "cho'
    head = _STREAM_HEAD.replace(b"\r\n\r\n", b"\r\ncontent-encoding: gzip\r\n\r\n") if gzipped else _STREAM_HEAD
    _assert_truncated_stream(tmp_path, head + (gzip.compress(cut) if gzipped else cut))


def _assert_truncated_stream(tmp_path: Path, answer: bytes) -> None:
    """A streamed chat request to a provider that answers `answer` ends in a truncated stream's error, logged so."""
    with raw_upstream(answer) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": True}
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
            assert "upstream_truncated_stream" in response.text, response.text
            (row,) = instance.rows("SELECT status, error_code FROM requests")
            assert (row["status"], row["error_code"]) == (502, "upstream_truncated_stream")
        finally:
            instance.server.stop()


async def test_a_long_line_in_many_small_pieces_is_one_event() -> None:
    data = b'{"x": "' + b"a" * 2_000_000 + b'"}'
    line = b"data: " + data

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(line), 2048):
            yield line[i : i + 2048]
        yield b"\n\ndata: [DONE]"  # the last event needs no ending

    response = httpx.Response(200, content=pieces())
    events = [(event, body) async for event, body, _ in iter_sse(response, "openai")]
    assert events == [("message", data), ("message", b"[DONE]")]


def test_a_chat_chunk_with_a_type_that_is_no_string_is_passed_on(tmp_path: Path) -> None:
    """A chat chunk whose (unknown to chat) `type` is a list: passed on, not a 500 (TypeError: unhashable)."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    odd = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "type": ["x"], "choices": []}
    answer = head + b"data: " + json.dumps(odd).encode() + b"\n\n" + _events(b"\n")
    with raw_upstream(answer) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": True}
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
            assert response.status_code == 200, response.text
            assert response.text.endswith("data: [DONE]\n\n")
        finally:
            instance.server.stop()


@pytest.mark.parametrize("kind", ["x" * 100_000, {"an": "object"}, "a\nb"])
def test_an_error_type_that_is_no_short_word_is_not_passed_on(tmp_path: Path, kind: object) -> None:
    """A provider error whose `type` is 100 KB, an object or holds a newline: the client and the log row get
    `upstream_error`, as for an error without a type."""
    error = json.dumps({"error": {"message": "no", "type": kind, "code": None}}).encode()
    with raw_upstream(_answer(400, error)) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini")
            assert response.status_code == 400
            assert response.json()["error"]["type"] == "upstream_error"
            (row,) = instance.rows("SELECT error_code FROM requests")
            assert row["error_code"] == "upstream_error"
        finally:
            instance.server.stop()


_WRITTEN = (
    b'{"choices": [{"index": 0, "message": {"content": "mail model.wrote@leakmail.io"}, "finish_reason": "stop"}]}'
)
# Answers whose HTTP framing is broken, so that the client library's error quotes the bytes it read and the URL.
BROKEN_FRAMING = {
    "longer than its length": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"
    + b"{}"
    + _WRITTEN,
    "not http": b"SSH-2.0-OpenSSH " + _WRITTEN + b"\r\n\r\n",
}


_SHORT = b'{"choices": []}'
# Answers whose failure aiohttp words with a Python repr of what it read, or of its own exception.
UNREADABLE_FRAMING = {
    "a header line of 200 KB": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-big: "
    + b"model.wrote@leakmail.io " * 8000
    + b"\r\ncontent-length: %d\r\n\r\n" % len(_SHORT)
    + _SHORT,
    # a repr of the bytearray it read: `bytearray()`, or `bytearray(b'...')`
    "a status line of 20 KB": b"HTTP/1.1 200 " + b"model.wrote@leakmail.io " * 800 + b"\r\ncontent-length: 2\r\n\r\n{}",
    "shorter than its length": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9999\r\n"
    + b"connection: close\r\n\r\n"
    + _SHORT,
}


BROKEN_ANSWERS = {**BROKEN_FRAMING, **UNREADABLE_FRAMING}


@pytest.mark.parametrize("answer", BROKEN_ANSWERS.values(), ids=BROKEN_ANSWERS.keys())
def test_a_broken_answer_is_a_502_that_quotes_neither_its_bytes_nor_the_url(tmp_path: Path, answer: bytes) -> None:
    """What the model wrote reaches the client only through the answer checks (PII scan included), never inside an
    error message; nor does the provider's URL, which is the operator's business; nor a Python repr of what aiohttp
    read or of its exception (`when reading: b'model.wrote@leakmail.io ...'`, `<ContentLengthError: 400, ...>`)."""
    with raw_upstream(answer) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini")
            assert response.status_code == 502, response.text
            message = response.json()["error"]["message"]
            assert "leakmail" not in message and "127.0.0.1" not in message and "choices" not in message, message
            assert "b'" not in message and "<" not in message and "message=" not in message, message
            assert "bytearray" not in message, message
            # reached, then broken off while its answer was read ("shorter than its length"), or before it
            assert message.startswith(
                ("openai: the connection to the provider failed", "openai: the provider's answer broke off")
            ), message
        finally:
            instance.server.stop()


def _anthropic_events(*events: dict[str, object]) -> bytes:
    return b"".join(b"event: %s\ndata: %s\n\n" % (str(e["type"]).encode(), json.dumps(e).encode()) for e in events)


# Provider errors whose message is no string (an object, a list), or that have no `error.message` at all (a list of
# errors, FastAPI's `detail`, a top-level `message`): each holds the words the client must read.
ODD_ERRORS: dict[str, object] = {
    "message object": {"error": {"message": {"detail": "the prompt is too long"}, "type": "invalid_request_error"}},
    "message list": {"error": {"message": ["the prompt is too long", "and more"], "code": {"an": "object"}}},
    "error list": {"error": [{"message": "the prompt is too long"}, {"message": "and more"}]},
    "detail": {"detail": [{"loc": ["body", "messages"], "msg": "the prompt is too long"}]},
    "top-level message": {"message": "the prompt is too long", "code": 400},
    "anthropic object": {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": {"detail": "the prompt is too long"}},
    },
}


def _readable(error: dict[str, object]) -> None:
    """An error whose message holds the provider's words, with no Python repr (`{'`, `['`) around them."""
    message = str(error["message"])
    assert "the prompt is too long" in message and "{'" not in message and "['" not in message, error
    assert error.get("code") is None or "{'" not in str(error["code"]), error


@pytest.mark.parametrize("body", ODD_ERRORS.values(), ids=ODD_ERRORS.keys())
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
@pytest.mark.parametrize("model", ["gpt-4o-mini", "anthropic/claude"])
def test_a_provider_error_whose_message_is_no_string_is_shown_as_text(
    tmp_path: Path, body: object, path: str, model: str
) -> None:
    with raw_upstream(_answer(400, json.dumps(body).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            request = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}{path}", json=request, timeout=30)
            assert response.status_code == 400, response.text
            _readable(response.json()["error"])
        finally:
            instance.server.stop()


_STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
_MESSAGE_START = {
    "type": "message_start",
    "message": {"id": "m", "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 3}},
}
# A stream that fails after its first event, its error's message an object: OpenAI's shape and Anthropic's.
_FAILING_STREAMS = {
    "gpt-4o-mini": b"\n\n".join(_events(b"\n").split(b"\n\n")[:2])
    + b'\n\ndata: {"error": {"message": {"detail": "the prompt is too long"}, "type": "server_error"}}\n\n',
    "anthropic/claude": _anthropic_events(
        _MESSAGE_START, {"type": "error", "error": {"type": "overloaded_error", "message": ["the prompt is too long"]}}
    ),
}


@pytest.mark.parametrize("model", _FAILING_STREAMS.keys())
def test_a_stream_error_whose_message_is_no_string_is_shown_as_text(tmp_path: Path, model: str) -> None:
    with raw_upstream(_STREAM_HEAD + _FAILING_STREAMS[model]) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            request = {"model": model, "stream": True, "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=request, timeout=30)
            if response.status_code != 200:  # an error before any of the answer (Anthropic's, round 18)
                _readable(response.json()["error"])
                return
            last = [line for line in response.text.split("\n") if line.startswith("data: ")][-1]
            _readable(json.loads(last.removeprefix("data: "))["error"])
        finally:
            instance.server.stop()


_CUT_ANTHROPIC_STREAM = _anthropic_events(
    {
        "type": "message_start",
        "message": {"id": "m", "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 3}},
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hel"}},
)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_an_anthropic_stream_that_ends_before_its_stop_is_an_error_not_a_whole_answer(
    tmp_path: Path, path: str
) -> None:
    """Anthropic's connection closed cleanly after a text delta, with no message_delta or message_stop: the
    client must not get a [DONE] (or a synthesized end_turn) as if the answer were whole."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    with raw_upstream(head + _CUT_ANTHROPIC_STREAM) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "anthropic/claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}{path}", json={**body, "stream": True}, timeout=30)
            assert response.status_code == 200
            assert "hel" in response.text and "[DONE]" not in response.text and "end_turn" not in response.text
            assert "upstream_truncated_stream" in response.text or "event: error" in response.text
            (row,) = instance.rows("SELECT status, error_code FROM requests")
            assert (row["status"], row["error_code"]) == (502, "upstream_truncated_stream")
        finally:
            instance.server.stop()


_NO_MESSAGE = {
    "empty object": _answer(200, b"{}"),
    "null content": _answer(
        200, b'{"type": "message", "role": "assistant", "content": null, "stop_reason": "end_turn"}'
    ),
    "stream with only its stop": _STREAM_HEAD + _anthropic_events({"type": "message_stop"}),
    "stream that starts mid-message": _STREAM_HEAD
    + _anthropic_events(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
        {"type": "message_stop"},
    ),
}


@pytest.mark.parametrize("answer", _NO_MESSAGE.values(), ids=_NO_MESSAGE.keys())
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_an_anthropic_answer_with_no_message_is_a_502(tmp_path: Path, path: str, answer: bytes) -> None:
    """Anthropic's answer with no content blocks at all, or a stream with no message_start: no message, which was
    a 200 with an empty answer; now a 502 before anything is sent."""
    with raw_upstream(answer) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            stream = b"event:" in answer
            body = {"model": "anthropic/claude", "max_tokens": 5, "stream": stream}
            body["messages"] = [{"role": "user", "content": "x"}]
            response = httpx.post(f"{instance.url}{path}", json=body, timeout=30)
            assert response.status_code == 502, response.text
            (row,) = instance.rows("SELECT status, error_code FROM requests")
            assert (row["status"], row["error_code"]) == (
                502,
                "upstream_bad_stream" if stream else "upstream_bad_answer",
            )
        finally:
            instance.server.stop()


@pytest.mark.parametrize(
    "answer", [b"[1, 2]", b'{"input_tokens": "many"}', b'{"input_tokens": -5}', b'{"input_tokens": 5.0}']
)
def test_an_anthropic_token_count_of_the_wrong_shape_is_a_502(tmp_path: Path, answer: bytes) -> None:
    with raw_upstream(_answer(200, answer)) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "anthropic/claude", "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}/v1/messages/count_tokens", json=body, timeout=30)
            assert response.status_code == 502, response.text
            assert response.json()["type"] == "error"
        finally:
            instance.server.stop()


_CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
UNASSEMBLABLE = {
    "content as parts": {"content": [{"type": "text", "text": "lo"}]},
    "thinking of another type": {"thinking_blocks": [{"index": 0, "thinking": ["x"]}]},
    "thinking_blocks not a list": {"thinking_blocks": 5},
}


@pytest.mark.parametrize("delta", UNASSEMBLABLE.values(), ids=UNASSEMBLABLE.keys())
def test_a_chunk_the_cache_cannot_assemble_still_reaches_the_client(tmp_path: Path, delta: dict[str, object]) -> None:
    """The cache only watches a stream go by: a delta it cannot add up (content as a list of parts, as some
    providers stream reasoning) gives up the caching, never the stream (it was an internal error mid-stream)."""
    chunks = [
        {**_CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hel"}, "finish_reason": None}]},
        {**_CHUNK, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**_CHUNK, "choices": [{"index": 0, "delta": {"thinking_blocks": [{"index": 0, "thinking": "x"}]}}]},
        {**_CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    events = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    with raw_upstream(head + events) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": True}
            for _ in range(2):
                response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
                assert response.status_code == 200 and response.headers["x-helix-cache"] == "MISS"
                assert response.text.endswith("data: [DONE]\n\n") and "internal error" not in response.text
            assert [row["status"] for row in instance.rows("SELECT status FROM requests")] == [200, 200]
        finally:
            instance.server.stop()


_LIMITED = b'{"error": {"message": "slow down", "type": "rate_limit_error"}}'
# What a provider's Retry-After said, and what the client is told (None: nothing, it could not be read).
RETRY_AFTERS = {
    "a billion seconds": (b"retry-after: 999999999", "3600"),
    "a date in 2099": (b"retry-after: Wed, 21 Oct 2099 07:28:00 GMT", "3600"),
    "a date in the past": (b"retry-after: Wed, 21 Oct 2015 07:28:00 GMT", "0"),
    "a fraction": (b"retry-after: 1.5", "2"),  # RFC 9110's delay-seconds are digits; some servers write a fraction
    "a fraction with no digits before it": (b"retry-after: .5", None),
    "digits with an underscore": (b"retry-after: 1_000", None),
    "a plus sign": (b"retry-after: +5", None),
    "an exponent": (b"retry-after: 1e3", None),
    "nan": (b"retry-after: nan", None),
    "inf": (b"retry-after: inf", None),
    "non-ASCII digits": ("retry-after: \u0663".encode(), None),
    "a fractional millisecond": (b"retry-after-ms: 1500.5", "2"),
    "milliseconds with an exponent": (b"retry-after: 3\r\nretry-after-ms: 1e3", "3"),
    "an asctime date": (b"retry-after: Sun Nov  6 08:49:37 1994", "0"),
    "an RFC 850 date": (b"retry-after: Wednesday, 21-Oct-99 07:28:00 GMT", "0"),  # 1999, as RFC 9110 reads it
    "a date in no HTTP form": (b"retry-after: 2099-10-21T07:28:00Z", None),
    "milliseconds too": (b"retry-after: 1\r\nretry-after-ms: 250", "1"),
    "infinity": (b"retry-after: 1e400", None),
    "not a number": (b"retry-after: soon", None),
    "negative": (b"retry-after: -5", None),
    "nan milliseconds": (b"retry-after-ms: nan", None),
}


@pytest.mark.parametrize(("sent", "told"), RETRY_AFTERS.values(), ids=RETRY_AFTERS.keys())
def test_a_providers_retry_after_is_passed_on_as_whole_seconds_within_an_hour(
    tmp_path: Path, sent: bytes, told: str | None
) -> None:
    """Retry-After as RFC 9110 has it (whole seconds, an HTTP date turned into them), at most an hour: a provider's
    1e9 seconds or a date in 2099 was passed on as sent, and parked the deployment for as long."""
    head = b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n%s\r\ncontent-length: %d\r\n\r\n"
    with raw_upstream(head % (sent, len(_LIMITED)) + _LIMITED) as url:
        toml = '[routing]\nretries = 0\n[models.m]\ndeployments = [{ target = "openai/gpt-4o-mini" }]\n'
        instance = start_helix(tmp_path, url, toml)
        try:
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, timeout=30)
            assert response.status_code == 429, response.text
            assert response.headers.get("retry-after") == told
            if told is not None:
                assert 0 <= int(response.headers["retry-after-ms"]) <= 3_600_000
            state = httpx.get(f"{instance.url}/health/ready", timeout=10).json()["deployments"]["openai/gpt-4o-mini"]
            assert state["state"] == "cooling" and state["back_in_seconds"] <= 3600
        finally:
            instance.server.stop()


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_id_beyond_latin_1_from_the_provider_is_not_passed_back(tmp_path: Path, stream: bool) -> None:
    """An x-request-id in UTF-8 that latin-1 cannot carry: passed back in Helix's headers, it was a plain-text
    500 'Internal Server Error' for an answer the provider gave whole."""
    completion = json.dumps({"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}]})
    head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: 请求-1\r\ncontent-length: %d\r\n\r\n"
    with raw_upstream((head % len(completion.encode())).encode() + completion.encode()) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini", stream=stream)
            assert response.status_code == 200, response.text
            assert "x-request-id" not in response.headers and "hi" in response.text
        finally:
            instance.server.stop()


_CARRIED = json.dumps(
    {"type": "error", "error": {"type": "insufficient_quota", "message": f"quota exceeded, see {OPENAI_KEY}"}}
).encode()
_ASK = [{"role": "user", "content": "x"}]
CARRIERS = {
    "chat": ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": _ASK}),
    "chat stream": ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": _ASK, "stream": True}),
    "chat to anthropic": ("/v1/chat/completions", {"model": "anthropic/c", "messages": _ASK}),
    "embeddings": ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"}),
    "completions": ("/v1/completions", {"model": "gpt-4o-mini", "prompt": "x"}),
    "messages": ("/v1/messages", {"model": "anthropic/c", "max_tokens": 5, "messages": _ASK}),
    "count_tokens": ("/v1/messages/count_tokens", {"model": "anthropic/c", "messages": _ASK}),
}


@pytest.mark.parametrize(("path", "body"), CARRIERS.values(), ids=CARRIERS.keys())
def test_a_200_that_carries_the_providers_error_is_a_502_with_its_message(
    tmp_path: Path, path: str, body: dict[str, object]
) -> None:
    """Some servers and proxies answer an error with a 200: it was a 502 saying the answer had an unexpected shape
    (no choices), which left the client guessing; a stream's event carrying an error was already read as one."""
    with raw_upstream(_answer(200, _CARRIED)) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = httpx.post(f"{instance.url}{path}", json=body, timeout=30)
            assert response.status_code == 502, response.text
            message = response.json()["error"]["message"]
            assert "quota exceeded" in message and "unexpected shape" not in message, message
            assert "sk-proj-Abc123" not in response.text
            (row,) = instance.rows("SELECT status, error_code FROM requests")
            assert (row["status"], row["error_code"]) == (502, "insufficient_quota")
        finally:
            instance.server.stop()


_HI = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}


@pytest.mark.parametrize(
    ("status", "answer", "said"),
    [(200, _HI, '"hi"'), (429, {"error": {"message": "slow down", "type": "rate_limit"}}, "openai: slow down")],
)
def test_an_answer_after_a_byte_order_mark_is_read(tmp_path: Path, status: int, answer: object, said: str) -> None:
    """RFC 8259 lets a JSON reader skip a byte order mark, as Helix does in a client's body: a provider's answer that
    began with one was a 502 'not valid JSON', its error body a message-less 'the provider answered HTTP 429'."""
    with raw_upstream(_answer(status, codecs.BOM_UTF8 + json.dumps(answer).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini")
            assert response.status_code == status, response.text
            assert said in response.text and not response.content.startswith(codecs.BOM_UTF8)
        finally:
            instance.server.stop()


_ONE_VECTOR = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}], "model": "e"}


@pytest.mark.parametrize(
    ("given", "status"), [(["a", "b"], 502), ([[1, 2], [3]], 502), ("a", 200), ([1, 2, 3], 200), (["a"], 200)]
)
def test_embeddings_fewer_than_the_inputs_are_a_502(tmp_path: Path, given: object, status: int) -> None:
    """One vector for two inputs was passed on as a 200: the client paired what came with the wrong texts, or lost
    the rest (a list of token ids is one input; the PII firewall, off here, refuses token ids)."""
    with raw_upstream(_answer(200, json.dumps(_ONE_VECTOR).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n[pii]\nenabled = false\n")
        try:
            body = {"model": "text-embedding-3-small", "input": given}
            response = httpx.post(f"{instance.url}/v1/embeddings", json=body, timeout=30)
            assert response.status_code == status, response.text
            if status == 502:
                assert response.json()["error"]["code"] == "upstream_bad_answer"
                assert "1 embeddings for 2 inputs" in response.json()["error"]["message"]
        finally:
            instance.server.stop()


_ODD_MODELS = {"data": [{"id": 5}, {"id": None}, {"id": ["x"]}, {"id": "ok"}, {"id": "bad\u0000name"}, {"id": "é"}]}


def test_listed_models_whose_ids_are_no_names_are_left_out(tmp_path: Path) -> None:
    """A provider's model ids of the wrong type were listed as 'openai/5', 'openai/None', "openai/['x']" (a Python
    repr), or with control characters: names no client could ask for (a 400 'model' if it did)."""
    with raw_upstream(_answer(200, json.dumps(_ODD_MODELS).encode())) as url:
        instance = start_helix(tmp_path, url)
        try:
            ids = [model.id for model in instance.client().models.list()]
            assert "openai/ok" in ids and "anthropic/ok" in ids, ids
            assert all(i.isascii() and i.isprintable() and i.endswith("/ok") for i in ids), ids
        finally:
            instance.server.stop()


def test_a_whole_answer_to_a_streamed_request_is_streamed_or_said_to_be_one(tmp_path: Path) -> None:
    """A server that ignores `stream: true` (as some local ones do) and answers with the whole answer: a chat
    completion was already passed on as its chunks; a legacy completion (its own one chunk) and a Responses answer
    were a 502 'the provider's stream ended before the answer was finished'."""
    completion = {"id": "c", "object": "text_completion", "created": 1, "model": "m", "choices": []}
    completion["choices"] = [{"index": 0, "text": "hi", "logprobs": None, "finish_reason": "stop"}]
    output = [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]}]
    answer = {**completion, "status": "completed", "output": output}  # one answer read as either kind
    with raw_upstream(_answer(200, json.dumps(answer).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            stream = instance.client().completions.create(model="gpt-4o-mini", prompt="x", stream=True)
            assert "".join(c.choices[0].text for c in stream if c.choices) == "hi"
            body = {"model": "gpt-4o-mini", "input": "x", "stream": True}
            response = httpx.post(f"{instance.url}/v1/responses", json=body, timeout=30)
            assert response.status_code == 502, response.text
            assert "a whole answer, not events" in response.json()["error"]["message"]
            rows = instance.rows("SELECT status, error_code FROM requests ORDER BY ts")
            assert [(r["status"], r["error_code"]) for r in rows] == [(200, None), (502, "upstream_bad_stream")]
        finally:
            instance.server.stop()


@pytest.mark.parametrize("status", [500, 501, 507, 599])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/responses"])
def test_a_providers_5xx_is_a_502_in_the_clients_shape(tmp_path: Path, status: int, path: str) -> None:
    """A provider's 500 (or 501, 507...) was passed on as Helix's own 500, which says the gateway broke: it is a 502
    with the provider's message (scrubbed) and type, and its log row says it was the upstream."""
    error = {"error": {"message": f"boom {OPENAI_KEY}", "type": "server_error"}}
    with raw_upstream(_answer(status, json.dumps(error).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body: dict[str, object] = {"model": "gpt-4o-mini", "max_tokens": 5, "input": "x"}
            body["messages"] = [{"role": "user", "content": "x"}]
            if path == "/v1/embeddings":
                body = {"model": "text-embedding-3-small", "input": "x"}
            response = httpx.post(f"{instance.url}{path}", json=body, timeout=30)
            assert response.status_code == 502, response.text
            assert OPENAI_KEY not in response.text
            if path == "/v1/messages":
                assert response.json()["type"] == "error"
                assert response.json()["error"]["type"] == "api_error"
                assert "boom" in response.json()["error"]["message"]
            else:
                said = response.json()["error"]
                assert "boom" in said["message"] and f"HTTP {status}" in said["message"]
                assert (said["type"], said["code"], said["provider"]) == (
                    "server_error",
                    "upstream_server_error",
                    "openai",
                )
            (row,) = instance.rows("SELECT status, error_code, provider FROM requests")
            assert (row["status"], row["error_code"], row["provider"]) == (502, "upstream_server_error", "openai")
        finally:
            instance.server.stop()


@pytest.mark.parametrize("status", [503, 504, 529])
def test_a_providers_overload_or_timeout_keeps_its_status(tmp_path: Path, status: int) -> None:
    error = {"error": {"message": "overloaded", "type": "overloaded_error"}}
    with raw_upstream(_answer(status, json.dumps(error).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            assert post(instance, "gpt-4o-mini").status_code == status
        finally:
            instance.server.stop()


@pytest.mark.parametrize("charset", [b"latin-1", b"iso-8859-1", b"ISO-8859-15", b'"windows-1252"', b"utf-16"])
def test_an_error_body_in_its_declared_charset_is_read(tmp_path: Path, charset: bytes) -> None:
    """A provider's error body in latin-1 (as its Content-Type said): read as UTF-8, it was no JSON, a 502 saying
    nothing of the provider's message; the message is passed on as the provider wrote it."""
    text = json.dumps({"error": {"message": "modèle refusé", "type": "invalid_request_error"}}, ensure_ascii=False)
    encoding = charset.decode().strip('"')
    answer = _answer(400, text.encode(encoding), b"application/json; charset=" + charset)
    with raw_upstream(answer) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini")
            assert response.status_code == 400, response.text
            assert response.json()["error"]["message"] == "openai: modèle refusé"
        finally:
            instance.server.stop()


def test_an_answer_in_its_declared_charset_is_read(tmp_path: Path) -> None:
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    answer["choices"] = [{"index": 0, "message": {"role": "assistant", "content": "déjà vu"}, "finish_reason": "stop"}]
    raw = json.dumps(answer, ensure_ascii=False).encode("latin-1")
    with raw_upstream(_answer(200, raw, b"application/json; charset=ISO-8859-1")) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini")
            assert response.status_code == 200, response.text
            assert response.json()["choices"][0]["message"]["content"] == "déjà vu"
        finally:
            instance.server.stop()


def test_models_listed_when_the_provider_cannot_list_them(tmp_path: Path) -> None:
    """A provider whose /models fails: /v1/models was an empty 200, saying there were no models. The models the config
    routes to it are listed (with the aliases); with nothing to list, it is a 502 saying why."""
    with raw_upstream(_answer(500, b'{"error": {"message": "listing broke"}}')) as url:
        toml = '[models.smart]\ntarget = "openai/gpt-4o"\nfallbacks = ["anthropic/claude-x"]\n'
        instance = start_helix(tmp_path, url, toml)
        try:
            ids = [model.id for model in instance.client().models.list()]
            assert ids == ["smart", "openai/gpt-4o", "anthropic/claude-x"], ids
        finally:
            instance.server.stop()
        (tmp_path / "bare").mkdir()
        bare = start_helix(tmp_path / "bare", url)
        try:
            response = httpx.get(f"{bare.url}/v1/models", timeout=30)
            assert response.status_code == 502, response.text
            error = response.json()["error"]
            assert error["code"] == "upstream_models_unavailable" and "listing broke" in error["message"]
        finally:
            bare.server.stop()


def test_models_listed_when_a_provider_never_answers_its_listing(tmp_path: Path) -> None:
    """A provider that takes the connection and never answers held GET /v1/models for [upstream] read_timeout (600 s
    by default): clients gave up (faults round 13). Its listing is given up after a few seconds, as a failed one is."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections wait in its backlog, never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        toml = '[models.smart]\ntarget = "openai/gpt-4o"\n'
        instance = start_helix(tmp_path, url, toml, env={"HELIX_UPSTREAM__READ_TIMEOUT": "60"})
        try:
            response = httpx.get(f"{instance.url}/v1/models", timeout=20)
            assert response.status_code == 200, response.text
            assert [m["id"] for m in response.json()["data"]][:2] == ["smart", "openai/gpt-4o"]
        finally:
            instance.server.stop()


def test_a_completion_with_no_text_is_a_502(tmp_path: Path) -> None:
    """A legacy completion whose choices carry no text (a chat answer, from a server that answers /completions
    so): passed on as a 200, whose text the client's SDK read as None."""
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    answer["choices"] = [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
    with raw_upstream(_answer(200, json.dumps(answer).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "prompt": "x"}
            response = httpx.post(f"{instance.url}/v1/completions", json=body, timeout=30)
            assert response.status_code == 502, response.text
            assert response.json()["error"]["code"] == "upstream_bad_answer"
            assert "has no text" in response.json()["error"]["message"]
        finally:
            instance.server.stop()


def test_a_timeout_reaches_an_anthropic_client_as_its_timeout_error(tmp_path: Path) -> None:
    """Anthropic's API says a 504 is a timeout_error; Helix said api_error (a provider's 504, or its own deadline)."""
    with raw_upstream(_answer(504, b'{"error": {"message": "took too long"}}')) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "openai/gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}/v1/messages", json=body, timeout=30)
            assert response.status_code == 504, response.text
            assert response.json()["error"]["type"] == "timeout_error"
        finally:
            instance.server.stop()


def _reset_mid_stream(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []}
    chunk["choices"] = [{"index": 0, "delta": {"role": "assistant", "content": "hel"}, "finish_reason": None}]
    event = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    conn.sendall(b"%x\r\n%s\r\n" % (len(event), event) + b'20\r\ndata: {"id":"c","obj')
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # close with a reset


def test_a_stream_reset_mid_event_says_so_without_a_python_repr(tmp_path: Path) -> None:
    """A connection reset mid-stream: the error event quoted "ConnectionResetError(104, 'Connection reset by peer')"."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    _reset_mid_stream(conn)

    threading.Thread(target=serve, daemon=True).start()
    instance = start_helix(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}", "[routing]\nretries = 0\n")
    try:
        response = post(instance, "gpt-4o-mini", stream=True)
        assert response.status_code == 200
        last = response.text.strip().split("\n\n")[-1]
        assert '"upstream_cut_off"' in last and "Connection reset by peer" in last, last
        assert "Error(" not in last and "104" not in last, last
        (row,) = instance.rows("SELECT status, error_code FROM requests")
        assert (row["status"], row["error_code"]) == (502, "upstream_cut_off")
    finally:
        instance.server.stop()
        listener.close()


_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
_STARTED = (
    {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": []}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hel"}},
)


@pytest.mark.parametrize("started", [False, True], ids=["first", "mid-stream"])
def test_anthropics_overloaded_error_reaches_an_anthropic_client_as_itself(tmp_path: Path, started: bool) -> None:
    """Anthropic's overloaded_error event (its stream's way to say 529) reached /v1/messages clients as an api_error,
    which their code and SDK read as another failure; its own type is kept (OpenAI's shape keeps it already)."""
    events = (*_STARTED, _OVERLOADED) if started else (_OVERLOADED,)
    with raw_upstream(_STREAM_HEAD + _anthropic_events(*events)) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "anthropic/claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}/v1/messages", json={**body, "stream": True}, timeout=30)
            error = json.loads(response.text.strip().split("\n\n")[-1].split("data: ", 1)[-1])
            assert error["type"] == "error" and error["error"]["type"] == "overloaded_error", response.text
            assert response.status_code == (200 if started else 529)  # Anthropic's own status for it
        finally:
            instance.server.stop()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("given", [{"a": 1}, ["x"], 5, True])
def test_an_answer_id_that_is_no_string_gives_an_anthropic_client_a_fresh_id(
    tmp_path: Path, given: object, stream: bool
) -> None:
    """An answer whose id is an object (a list, a number) became the Anthropic message id "msg_{'a': 1}", a Python
    repr; an id that is no string is replaced, as a missing one is."""
    answer = {"id": given, "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    answer["choices"] = [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
    with raw_upstream(_answer(200, json.dumps(answer).encode())) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            body = {"model": "openai/gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            response = httpx.post(f"{instance.url}/v1/messages", json={**body, "stream": stream}, timeout=30)
            assert response.status_code == 200, response.text
            if stream:
                start = response.text.split("\n\n")[0].split("data: ", 1)[1]
                said = json.loads(start)["message"]["id"]
            else:
                said = response.json()["id"]
            assert re.fullmatch(r"msg_[0-9a-f]{24}", said), said
        finally:
            instance.server.stop()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [(b"text/html", b"<html><body>502 Bad Gateway</body></html>"), (b"application/x-ndjson", b'{"a": 1}\n{"b": 2}\n')],
)
@pytest.mark.parametrize("model", ["gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"])
def test_a_stream_answered_with_a_page_or_ndjson_says_so(
    tmp_path: Path, content_type: bytes, body: bytes, model: str
) -> None:
    """Not "the stream ended before the answer was finished": it never was a stream."""
    with raw_upstream(_answer(200, body, content_type)) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, model, stream=True)
            assert response.status_code == 502, response.text
            error = response.json()["error"]
            assert error["code"] == "upstream_bad_stream", error
            assert f"{content_type.decode()}, not events" in error["message"], error
        finally:
            instance.server.stop()


def test_a_whole_answer_sent_as_events_is_assembled_and_charged(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    """A server that streams whatever it is asked answered a whole request with events: a 502, retried and billed
    by the provider twice, charged nothing (faults round 13). It is the answer the events amount to now."""
    helix = start_helix(tmp_path, upstream[0].url, '[pricing."openai/always-stream"]\ninput = 1.0\noutput = 2.0\n')
    try:
        raw = helix.client().chat.completions.with_raw_response.create(
            model="always-stream", messages=[{"role": "user", "content": "one answer please"}]
        )
        completion = raw.parse()
        assert completion.object == "chat.completion" and completion.choices[0].finish_reason == "stop"
        assert completion.choices[0].message.content == "echo: one answer please"
        assert completion.usage is not None and completion.usage.completion_tokens > 0
        expected = (completion.usage.prompt_tokens * 1.0 + completion.usage.completion_tokens * 2.0) / 1_000_000
        assert float(raw.headers["x-helix-cost-usd"]) == pytest.approx(expected)
        assert raw.headers["x-helix-attempts"] == "1" and len(fake.requests) == 1
        again = helix.client().chat.completions.with_raw_response.create(
            model="always-stream", messages=[{"role": "user", "content": "one answer please"}]
        )
        assert again.headers["x-helix-cache"] == "HIT-EXACT" and len(fake.requests) == 1

        answer = httpx.post(
            f"{helix.url}/v1/responses", json={"model": "always-stream", "input": "a response please"}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["object"] == "response" and answer.json()["status"] == "completed"
        assert "a response please" in json.dumps(answer.json()["output"])
        helix.flush()
        costs = [r["cost_usd"] for r in helix.rows("SELECT cost_usd FROM requests ORDER BY rowid")]
        assert costs[0] == pytest.approx(expected) and costs[1] == 0 and costs[2] is not None and costs[2] > 0
    finally:
        helix.server.stop()


@pytest.mark.parametrize("model", ["keeps-open", "anthropic/keeps-open", "anthropic/keeps-pinging"])
def test_a_whole_stream_kept_open_after_its_end_ends_soon_as_a_whole_answer(helix: Helix, model: str) -> None:
    """Round 18: a stream that sent its last chunk (and its usage) and then neither `[DONE]` nor message_stop held its
    client for the read timeout (600 s by default), then ended in an error event, logged 504, not cached. Pings after
    the end held it for as long as they came (a reviewer's find)."""
    body = {"model": model, "messages": [{"role": "user", "content": f"kept open {model}"}], "stream": True}
    started = time.monotonic()
    with httpx.stream("POST", f"{helix.url}/v1/chat/completions", json=body, timeout=20) as response:
        text = response.read().decode()
    assert time.monotonic() - started < 6  # the fake keeps it open 8 s
    assert text.rstrip().endswith("data: [DONE]") and '"error"' not in text
    assert f"echo: kept open {model}" == "".join(
        choice["delta"].get("content") or ""
        for line in text.splitlines()
        if line.startswith("data: {")
        for choice in json.loads(line[6:])["choices"]
    )
    helix.flush()
    (row,) = helix.rows("SELECT status FROM requests")
    assert row["status"] == 200
    assert post(helix, model, messages=body["messages"]).headers["x-helix-cache"] == "HIT-EXACT"


def test_an_anthropic_rate_limit_event_before_any_text_is_a_429(helix: Helix) -> None:
    """Round 18: Anthropic's rate_limit_error as a stream's event became a 502 (the OpenAI SDK raised an
    InternalServerError, not a RateLimitError it backs off from; /v1/messages said api_error)."""
    with pytest.raises(openai.RateLimitError):
        helix.client().chat.completions.create(
            model="anthropic/rate-limit-event", messages=[{"role": "user", "content": "x"}], stream=True
        )
    body = {"model": "anthropic/rate-limit-event", "max_tokens": 5, "messages": [{"role": "user", "content": "y"}]}
    response = httpx.post(
        f"{helix.url}/v1/messages",
        json={**body, "stream": True},
        headers={"anthropic-version": "2023-06-01"},
        timeout=30,
    )
    assert response.status_code == 429 and response.json()["error"]["type"] == "rate_limit_error"


PRICED = '[pricing."openai/gpt-4o-mini"]\ninput = 1.0\noutput = 2.0\n'
STALLS_IN_ITS_BODY = [
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n" + b'{"id":"x1",',
    b" " * 189,
]
EVENTS_CUT_BEFORE_THE_FINISH = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    b'data: {"id":"x1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}\n\n'
)


@pytest.mark.parametrize("answer", [STALLS_IN_ITS_BODY, EVENTS_CUT_BEFORE_THE_FINISH], ids=["stalls", "events-cut"])
def test_a_whole_answer_the_provider_began_and_broke_off_is_charged(
    tmp_path: Path, answer: bytes | list[bytes]
) -> None:
    """Faults round 26: a non-streamed answer whose body stalled past the read timeout, or a whole answer sent as
    events cut before their end, was billed by the provider and charged nothing (only a connection cut while the
    body was read was); each attempt is charged its estimate now, as a stream's is."""
    with raw_upstream(answer, gap=3.0) as url:  # past the tests' read timeout of 2 s
        config = PRICED + "[routing]\nretries = 1\nbackoff = 0.01\n"
        instance = start_helix(tmp_path, url, config)
        try:
            response = post(instance, "gpt-4o-mini", max_tokens=100)
            assert response.status_code in (502, 504), response.text
            instance.flush()
            (row,) = instance.rows("SELECT cost_usd, status FROM requests")
            one = (len('"x"') / 4 * 1.0 + 100 * 2.0) / 1_000_000  # about: the prompt's estimate and max_tokens
            assert row["cost_usd"] is not None and row["cost_usd"] > one, row  # two attempts, each charged
        finally:
            instance.server.stop()


def test_a_whole_answer_cut_by_the_requests_own_deadline_is_charged(tmp_path: Path) -> None:
    """A review of faults round 26: an answer stalled in its body was charged only when the read timeout cut it; the
    request's own deadline (here its x-helix-timeout, 1 s, under the read timeout) cut it unbilled."""
    with raw_upstream(STALLS_IN_ITS_BODY, gap=3.0) as url:
        instance = start_helix(tmp_path, url, PRICED + "[routing]\nretries = 0\n")
        try:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100}
            headers = {"x-helix-timeout": "1"}
            response = httpx.post(f"{instance.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
            assert response.status_code == 504, response.text
            instance.flush()
            (row,) = instance.rows("SELECT cost_usd FROM requests")
            assert row["cost_usd"] is not None and row["cost_usd"] > 0
        finally:
            instance.server.stop()


def _ask_together(helix: Helix, count: int) -> list[tuple[float, httpx.Response]]:
    """`count` identical requests sent at once: (seconds taken, response) each."""
    results: list[tuple[float, httpx.Response]] = []

    def ask() -> None:
        began = time.monotonic()
        response = post(helix, "gpt-4o-mini")
        results.append((time.monotonic() - began, response))

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(30)
    return results


def test_requests_waiting_for_the_same_one_in_flight_keep_the_routing_deadline(tmp_path: Path) -> None:
    """Faults round 26: with a 2 s [routing] deadline and a provider that never answers, the requests that waited for
    the same request in flight began their own attempts when it gave up, and answered after twice the deadline."""
    silent = [b"", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    with raw_upstream(silent, gap=20.0) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\ndeadline = 2.0\n")
        try:
            results = _ask_together(instance, 3)
            assert [r.status_code for _, r in results] == [504] * 3, [r.text for _, r in results]
            assert max(seconds for seconds, _ in results) < 3.5  # not 4 s and more
        finally:
            instance.server.stop()


def test_a_rate_limit_is_shared_with_the_same_requests_waiting_for_it(tmp_path: Path) -> None:
    """Faults round 26: a provider's 429 to a request left those that waited for it to ask at once, a burst of
    attempts against a provider that had just refused; they get its 429 now, as they get its 5xx."""
    limited = [b"", b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"]
    connections: list[int] = []
    with raw_upstream(limited, gap=1.0, connections=connections) as url:
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            results = _ask_together(instance, 4)
            assert [r.status_code for _, r in results] == [429] * 4, [r.text for _, r in results]
            assert len(connections) == 1
        finally:
            instance.server.stop()


def test_waiting_for_the_same_request_in_flight_is_not_helixs_own_time(helix: Helix) -> None:
    """Faults round 26: a request served the answer of the same one in flight reported its wait (1.8 s) as Helix's
    overhead, in x-helix-overhead-ms, the log and the dashboard."""
    results: list[httpx.Response] = []
    first = threading.Thread(target=lambda: results.append(post(helix, "slow-1.5")))
    first.start()
    time.sleep(0.3)
    second = post(helix, "slow-1.5")
    first.join(30)
    assert second.headers["x-helix-cache"] == "HIT-EXACT", second.headers
    assert float(second.headers["x-helix-overhead-ms"]) < 500


@pytest.mark.parametrize("stream", [True, False])
def test_a_connection_reset_after_a_whole_answer_ends_it_cleanly(tmp_path: Path, stream: bool) -> None:
    """Faults round 26: a provider whose connection broke after the answer's finish (before its [DONE]) gave the
    client the whole answer and then an error event, which OpenAI's SDKs raise on; one that went quiet instead ended
    cleanly. Both end cleanly now."""
    event = (
        b'data: {"id":"x1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        b'"delta":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}\n\n'
    )
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    with raw_upstream(head + _chunked([event]), reset=True) as url:  # no last chunk: the body is cut, not ended
        instance = start_helix(tmp_path, url, "[routing]\nretries = 0\n")
        try:
            response = post(instance, "gpt-4o-mini", stream=stream)
            assert response.status_code == 200, response.text
            if stream:
                assert '"error"' not in response.text and response.text.rstrip().endswith("data: [DONE]")
            else:
                assert response.json()["choices"][0]["message"]["content"] == "hi"
        finally:
            instance.server.stop()
