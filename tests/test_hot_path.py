"""The hot path's machinery (issue 16): exact hits from memory, answers and stream chunks passed through as the
provider sent them, events of one network read written together; and that none of it changes what Helix does."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from helix.api.responses import _ChatEvents, _without_null_usage
from helix.cache import entries
from helix.cache.entries import Entry
from helix.cache.hot import Answer, HotEntries
from helix.call import Chunk
from helix.pii.restore import StreamRestorer
from helix.pipeline.redact import _OnLoop, _transform_stream
from helix.providers.http import iter_sse
from helix.server import Coalescing
from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread

CHAT = "/v1/chat/completions"
ADMIN = "hxa-test-admin-key-0123456789abcdef"


def _entry(entry_id: int, expires: float = 1e12, text: str = "hello") -> Entry:
    body = {"id": "chatcmpl-old", "object": "chat.completion", "created": 1, "model": "m", "choices": [text]}
    return Entry(entry_id, msgspec.json.encode(body), 0.01, "openai/m", expires)


# -- the in-memory LRU -------------------------------------------------------------------------------


def test_an_answer_is_served_with_its_own_id_and_time() -> None:
    body, raw = Answer.of(_entry(1)).body("chatcmpl-new", 1234)
    assert body["id"] == "chatcmpl-new" and body["created"] == 1234
    assert json.loads(raw) == body  # the pre-encoded bytes say the same as the object the stages see


def test_an_answer_whose_text_holds_the_stand_in_is_encoded_whole() -> None:
    answer = Answer.of(_entry(1, text="\x00helix-id\x00"))
    assert answer.parts is None
    body, raw = answer.body("chatcmpl-new", 5)
    assert json.loads(raw) == body and body["choices"] == ["\x00helix-id\x00"]


def test_expired_entries_leave_on_read() -> None:
    hot = HotEntries(1_000_000)
    hot.put(b"k", _entry(1, expires=100.0))
    assert hot.get(b"k", now=99.0) is not None
    assert hot.get(b"k", now=100.0) is None
    assert len(hot) == 0 and hot.size == 0


def test_the_least_recently_used_go_past_the_byte_bound() -> None:
    one = Answer.of(_entry(1)).size
    hot = HotEntries(3 * one)
    for i in range(3):
        hot.put(bytes([i]), _entry(i))
    hot.get(b"\x00", now=0.0)  # now the most recently used
    hot.put(b"\x03", _entry(3))
    assert hot.get(b"\x01", now=0.0) is None
    assert all(hot.get(bytes([i]), now=0.0) is not None for i in (0, 2, 3))
    assert hot.size <= 3 * one


def test_a_smaller_bound_on_reload_forgets_the_least_recently_used_at_once() -> None:
    """`[cache] hot_mb` reloaded was said to be changed and held the old bound (faults round 21)."""
    one = Answer.of(_entry(1)).size
    hot = HotEntries(3 * one)
    for i in range(3):
        hot.put(bytes([i]), _entry(i))
    hot.resize(one)
    assert [hot.get(bytes([i]), now=0.0) is not None for i in range(3)] == [False, False, True]
    hot.resize(0)  # hot_mb = 0: none kept
    assert len(hot) == 0 and hot.size == 0
    hot.put(b"\x04", _entry(4))
    assert len(hot) == 0


def test_deleted_rows_and_a_clear_empty_it() -> None:
    hot = HotEntries(1_000_000)
    for i in range(3):
        hot.put(bytes([i]), _entry(i))
    hot.drop_ids({0, 2})
    assert [hot.get(bytes([i]), now=0.0) is not None for i in range(3)] == [False, True, False]
    hot.clear()
    assert len(hot) == 0 and hot.size == 0


def ask(helix: Helix, text: str, **headers: str) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{helix.url}{CHAT}", json=body, headers=headers, timeout=30)


def test_a_clear_through_the_admin_api_stops_hits_at_once(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    helix = start_helix(tmp_path, upstream[0].url, f'[auth]\nadmin_key = "{ADMIN}"\n')
    try:
        ask(helix, "hot question")
        assert ask(helix, "hot question").headers["x-helix-cache"] == "HIT-EXACT"  # now in memory
        cleared = httpx.post(f"{helix.url}/admin/cache/clear", json={}, headers={"authorization": f"Bearer {ADMIN}"})
        assert cleared.status_code == 200
        assert ask(helix, "hot question").headers["x-helix-cache"] == "MISS"
        assert len(fake.calls(CHAT)) == 2
    finally:
        helix.server.stop()


def test_a_clear_by_another_process_stops_hits(helix: Helix, fake: FakeState) -> None:
    ask(helix, "hot question")
    assert ask(helix, "hot question").headers["x-helix-cache"] == "HIT-EXACT"
    helix.flush()
    conn = sqlite3.connect(helix.db_path, isolation_level=None)
    try:
        assert entries.clear(conn, None, None) == 1  # what `helix cache clear` does
    finally:
        conn.close()
    # The server notices the cache generation at its next poll (every 0.5 s); wait for that, not a set time.
    deadline = time.monotonic() + 10
    while ask(helix, "hot question").headers["x-helix-cache"] != "MISS":
        assert time.monotonic() < deadline, "the clear was never noticed"
        time.sleep(0.1)


def test_an_evicted_hot_entry_is_not_served(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    helix = start_helix(tmp_path, upstream[0].url, env={"HELIX_CACHE__MAX_ENTRIES": "1"})
    try:
        ask(helix, "first")
        assert ask(helix, "first").headers["x-helix-cache"] == "HIT-EXACT"  # in memory now
        ask(helix, "second")
        helix.flush()
        assert helix.server.run(helix.gateway.cache.evict()) == 1
        assert ask(helix, "first").headers["x-helix-cache"] == "MISS"
    finally:
        helix.server.stop()


def test_hits_are_counted_in_the_file(helix: Helix, fake: FakeState) -> None:
    ask(helix, "counted")
    for _ in range(3):
        assert ask(helix, "counted").headers["x-helix-cache"] == "HIT-EXACT"
    helix.server.run(helix.gateway.cache.evict())  # writes the hits counted in memory first
    (row,) = helix.rows("SELECT hits FROM cache_entries")
    assert row["hits"] == 3


# -- passed through as sent ------------------------------------------------------------------------------


def test_an_answer_goes_out_as_the_provider_sent_it(helix: Helix, fake: FakeState) -> None:
    raw = ask(helix, "as sent", **{"cache-control": "no-cache, no-store"}).content
    assert raw.startswith(b'{"id": "chatcmpl-fake"')  # the fake's json.dumps spacing, not Helix's encoder


def _stream(helix: Helix, text: str, **extra: Any) -> list[str]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "stream": True, **extra}
    with httpx.stream("POST", f"{helix.url}{CHAT}", json=body, timeout=30) as response:
        assert response.status_code == 200
        return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def test_a_passed_through_stream_is_cached_logged_and_hides_usage(helix: Helix, fake: FakeState) -> None:
    events = _stream(helix, "stream me please")
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert events[0].startswith('{"id": "chatcmpl-fake"')  # the provider's bytes
    assert all("usage" not in c for c in chunks)  # Helix asked for usage; this client did not
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "echo: stream me please"
    (row,) = helix.rows("SELECT prompt_tokens, completion_tokens, cost_usd, stream FROM requests")
    assert row["stream"] == 1 and row["prompt_tokens"] and row["completion_tokens"] and row["cost_usd"]
    assert ask(helix, "stream me please").headers["x-helix-cache"] == "HIT-EXACT"


def test_a_client_asking_for_usage_gets_it(helix: Helix, fake: FakeState) -> None:
    events = _stream(helix, "usage please", stream_options={"include_usage": True})
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[-1]["usage"]["completion_tokens"] > 0 and chunks[-1]["choices"] == []


def test_a_passed_through_stream_still_restores_pseudonyms(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState
) -> None:
    helix = start_helix(tmp_path, upstream[0].url, '[pii]\nactions = { EMAIL_ADDRESS = "pseudonymize" }\n')
    try:
        text = "Mail jane.doe@example.com about it."
        chunks = [json.loads(e) for e in _stream(helix, text)[:-1]]
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == f"echo: {text}"
        assert "jane.doe" not in json.dumps(fake.calls(CHAT)[0].body)
    finally:
        helix.server.stop()


def test_a_client_gone_mid_stream_is_logged_as_499(helix: Helix, fake: FakeState) -> None:
    body = {"model": "slow-stream", "messages": [{"role": "user", "content": "a long answer"}], "stream": True}
    with httpx.stream("POST", f"{helix.url}{CHAT}", json=body, timeout=10) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break  # one event, then hang up
    deadline = time.monotonic() + 10
    rows: list[sqlite3.Row] = []
    while not rows:
        assert time.monotonic() < deadline, "the request was never logged"
        rows = helix.rows("SELECT status, error_code FROM requests")
        time.sleep(0.05)
    assert (rows[0]["status"], rows[0]["error_code"]) == (499, "client_closed")


@pytest.mark.parametrize("path", [CHAT, "/v1/messages"])
def test_a_client_gone_while_waiting_for_a_whole_answer_is_logged_as_499(
    helix: Helix, fake: FakeState, path: str
) -> None:
    """The client gives up (its own timeout) before the provider answers: the call is given up too, and logged as
    cut, where it ran on and was logged as a 200 no one received."""
    body = {"model": "slow-3", "max_tokens": 5, "messages": [{"role": "user", "content": "take your time"}]}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{helix.url}{path}", json=body, timeout=0.5)
    deadline = time.monotonic() + 2  # before the provider's answer would have come
    rows: list[sqlite3.Row] = []
    while not rows:
        assert time.monotonic() < deadline, "the request was not logged as cut in time"
        rows = helix.rows("SELECT status, error_code, stream, latency_ms, overhead_ms FROM requests")
        time.sleep(0.05)
    assert (rows[0]["status"], rows[0]["error_code"], rows[0]["stream"]) == (499, "client_closed", 0)
    # the wait for the provider is the provider's time, not Helix's (it was all logged as overhead)
    assert rows[0]["overhead_ms"] < rows[0]["latency_ms"] / 2, dict(rows[0])
    assert httpx.post(f"{helix.url}{path}", json={**body, "model": "gpt-4o-mini"}, timeout=10).status_code == 200


def test_an_internal_error_mid_stream_is_logged_as_one_not_as_the_client_leaving(
    helix: Helix, fake: FakeState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk the client's encoder fails on (a translation bug): the stream ends with an error event, and its
    log row says 500 internal_error, where the pipeline's stream, only closed, logged it as cut by the client."""
    encode = _ChatEvents.encode

    def failing(self: _ChatEvents, chunk: dict[str, Any]) -> bytes:
        if any((choice.get("delta") or {}).get("content") for choice in chunk.get("choices") or []):
            raise RuntimeError("an encoder bug")
        return encode(self, chunk)

    monkeypatch.setattr(_ChatEvents, "encode", failing)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}], "stream": True}
    response = httpx.post(f"{helix.url}{CHAT}", json=body, timeout=10)
    assert response.status_code == 200 and "internal error" in response.text
    (row,) = helix.rows("SELECT status, error_code FROM requests")
    assert (row["status"], row["error_code"]) == (500, "internal_error")


def test_a_null_usage_is_cut_only_at_the_top_level_end() -> None:
    assert _without_null_usage(b'{"a": 1, "usage": null}') == b'{"a": 1}'
    assert _without_null_usage(b'{"a":1,"usage":null}\n') == b'{"a":1}'
    assert _without_null_usage(b'{"usage": null, "a": 1}') is None
    assert _without_null_usage(b'{"a": {"usage": null}}') is None


def test_a_changed_chunk_is_encoded_again() -> None:
    raw = b'{"id": "x", "choices": [], "usage": null}'
    chunk = Chunk(json.loads(raw), raw)
    encoder = _ChatEvents(wants_usage=True)
    assert encoder.encode(chunk) == b"data: " + raw + b"\n\n"
    chunk.raw = None  # what a stage that rewrites it does
    chunk["id"] = "y"
    assert json.loads(encoder.encode(chunk)[6:]) == {"id": "y", "choices": [], "usage": None}


async def _pieces(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


@pytest.mark.asyncio
async def test_events_of_one_read_are_marked_to_go_out_together() -> None:
    pieces = [b"data: 1\n\ndata: 2\n\ndata: 3\n\n", b"data: 4\n\n", b"data: 5\n", b"\n"]
    found = [(data, more) async for _, data, more in iter_sse(httpx.Response(200, content=_pieces(pieces)), "p")]
    assert found == [(b"1", True), (b"2", True), (b"3", False), (b"4", False), (b"5", False)]


@pytest.mark.asyncio
async def test_events_are_read_whole_whatever_the_reads_cut() -> None:
    """An event ends at its blank line, however the reads cut it: named events, data over several lines, comments and
    extra blank lines between events, and a last event whose blank line never comes."""
    stream = b"\n\ndata: 1\n\n\nevent: ping\ndata: 2\ndata:3\n\n: comment\n\nid: 7\ndata:  4"
    expected = [("message", b"1"), ("ping", b"2\n3"), ("message", b"4")]
    for cut in range(len(stream) + 1):
        for second in range(cut, len(stream) + 1):
            pieces = [piece for piece in (stream[:cut], stream[cut:second], stream[second:]) if piece]
            response = httpx.Response(200, content=_pieces(pieces))
            events = [(name, data) async for name, data, _ in iter_sse(response, "p")]
            assert events == expected, pieces


# -- chat completions in front of Litestar, one write per answer ----------------------------------------


def test_chat_errors_in_front_of_litestar_keep_their_shape(helix: Helix, fake: FakeState) -> None:
    bad = httpx.post(f"{helix.url}{CHAT}", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.headers["x-helix-request-id"].startswith("req_")
    assert set(bad.json()["error"]) == {"message", "type", "param", "code"}
    wrong_method = httpx.get(f"{helix.url}{CHAT}")  # not the fast route's: Litestar answers, in OpenAI's shape
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    slashed = httpx.post(f"{helix.url}{CHAT}/", json=body, headers={"cache-control": "no-store"})
    assert slashed.status_code == 200 and slashed.headers["x-helix-cache"]  # the Litestar route, same pipeline
    too_big = httpx.post(f"{helix.url}{CHAT}", content=b"x" * int(helix.gateway.config.server.max_body_mb * 2**20 + 1))
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "413"


class _Recording(asyncio.Transport):
    """A real connection's transport that records how often it is written to."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self.real = transport
        self.writes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1
        self.real.write(data)

    def is_closing(self) -> bool:
        return self.real.is_closing()

    def close(self) -> None:
        self.real.close()


async def test_writes_of_one_loop_turn_go_out_as_one() -> None:
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[asyncio.Transport] = loop.create_future()

    class Server(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport)  # type: ignore[arg-type]

    server = await loop.create_server(Server, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    recording = _Recording(await accepted)
    out = Coalescing(recording)
    out.write(b"HTTP/1.1 200 OK\r\n\r\n")
    out.write(b"body")
    assert recording.writes == 0  # held until the turn ends
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert recording.writes == 1 and await reader.readexactly(23) == b"HTTP/1.1 200 OK\r\n\r\nbody"
    out.writelines([b"la", b"st"])
    out.close()  # what is held goes out before the connection closes
    assert recording.writes == 2 and await reader.read() == b"last"
    writer.close()
    server.close()


@pytest.mark.asyncio
async def test_restoring_a_stream_encodes_again_only_the_chunks_it_changes() -> None:
    # The placeholder is split across two chunks: the first's text is held back (it goes out empty), the
    # second's becomes the value. Both must be encoded again; the others go out as the provider sent them.
    pieces = ["Write to ", "<EMAIL_", "ADDRESS_1>", " today", None]
    events = [{"id": "c", "object": "chat.completion.chunk", "choices": [_choice(piece)]} for piece in pieces] + [
        {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 3}}
    ]

    async def provider() -> AsyncIterator[dict[str, Any]]:
        for event in events:
            yield Chunk(event, msgspec.json.encode(event))

    restorer = lambda tool: _OnLoop(StreamRestorer({"<EMAIL_ADDRESS_1>": "jane@example.com"}, json_escape=tool))  # noqa: E731
    out = [chunk async for chunk in _transform_stream(provider(), restorer)]
    assert [chunk.raw is not None for chunk in out] == [True, False, False, True, True, True]  # type: ignore[attr-defined]
    sent = [json.loads(_ChatEvents(True).encode(chunk)[6:]) for chunk in out]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in sent if c["choices"]) == (
        "Write to jane@example.com today"
    )


def _choice(piece: str | None) -> dict[str, Any]:
    if piece is None:
        return {"index": 0, "delta": {}, "finish_reason": "stop"}
    return {"index": 0, "delta": {"content": piece}, "finish_reason": None}
