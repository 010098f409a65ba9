"""Caps on the request, through a real `helix serve`: too large or too many headers get a 431 at once, a request not
sent within [server] client_read_timeout a 408, one that is not HTTP a 400, each in OpenAI's error shape."""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from unittest.mock import ANY
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fake_upstream import FakeState, ServerThread
from tests.served import helix_process


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[str]:
    with helix_process(tmp_path_factory.mktemp("limits"), upstream[0].url) as (url, _):
        yield url


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[str]:
    with helix_process(
        tmp_path_factory.mktemp("impatient"), upstream[0].url, "[server]\nclient_read_timeout = 2.0\n"
    ) as (
        url,
        _,
    ):
        yield url


def raw_request(url: str, head: bytes, trickle: bytes = b"", pieces: int = 0) -> bytes:
    """Send `head`, then `trickle` `pieces` times (a header that never ends); return what the server answers."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for _ in range(pieces):
                sock.sendall(trickle)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and hung up: what we want
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_a_huge_header_is_a_431_before_it_is_read(served: str) -> None:
    head = b"GET /health HTTP/1.1\r\nhost: localhost\r\nx-big: "
    answer = raw_request(served, head, b"a" * 65536, pieces=1600)  # would be 100 MB
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 431")
    assert json.loads(body)["error"]["code"] == "request_header_fields_too_large"


def test_too_many_headers_is_a_431(served: str) -> None:
    headers = {f"x-h{i}": "1" for i in range(150)}
    response = httpx.get(f"{served}/health", headers=headers, timeout=10)
    assert response.status_code == 431
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_headers_just_over_the_size_cap_in_one_piece_are_a_431(served: str) -> None:
    response = httpx.get(f"{served}/health", headers={"x-big": "a" * 40_000}, timeout=10)
    assert response.status_code == 431


def test_ordinary_large_requests_still_pass(served: str) -> None:
    assert httpx.get(f"{served}/health", headers={"x-big": "a" * 16_000}, timeout=10).status_code == 200
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "b" * 2_000_000}]}
    response = httpx.post(f"{served}/v1/chat/completions", json=body, timeout=30)  # a big body is not a big head
    assert response.status_code == 200, response.text


def test_health_answers_while_someone_sends_a_huge_header(served: str) -> None:
    sender = threading.Thread(
        target=raw_request, args=(served, b"GET /health HTTP/1.1\r\nhost: localhost\r\nx-big: ", b"a" * 65536, 1600)
    )
    sender.start()
    started = time.monotonic()
    assert httpx.get(f"{served}/health", timeout=10).status_code == 200
    assert time.monotonic() - started < 1.0
    sender.join(10)


def test_a_body_over_the_head_cap_in_the_same_read_as_its_head_is_no_431(served: str) -> None:
    """A client that writes a whole request at once (head and a 40 KB body, more than max_header_kb): the body
    arrives in the read that finished the head, and is not counted as head, on a fresh connection or a reused one."""
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "b " * 20_000}]}).encode()
    parts = urlsplit(served)
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(head + b"content-length: %d\r\n\r\n" % len(body) + body)
            answer = _read_answer(sock)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def _read_answer(sock: socket.socket) -> bytes:
    """One whole answer (head and its content-length of body) read from a kept-alive connection."""
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk
    return answer


def _length(answer: bytes) -> int:
    head = answer.partition(b"\r\n\r\n")[0].lower()
    return int(head.partition(b"content-length: ")[2].split(b"\r\n")[0] or 0)


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_cap_to_the_anthropic_api_is_a_413_in_its_shape(served: str, path: str, declared: bool) -> None:
    """Over [server] max_body_mb (20 MB), declared up front or found while reading a chunked body."""
    body = b'{"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "' + b"x" * (21 << 20)
    content = body if declared else iter([body[i : i + (1 << 20)] for i in range(0, len(body), 1 << 20)])
    response = httpx.post(f"{served}{path}", content=content, headers={"anthropic-version": "2023-06-01"}, timeout=30)
    assert response.status_code == 413, response.text
    assert response.json() == {"type": "error", "error": {"type": "request_too_large", "message": ANY}}


def _stalled(url: str, sent: bytes) -> tuple[bytes, float]:
    """Send `sent` and then nothing: what the server answers before it hangs up, and after how long."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        began = time.monotonic()
        sock.sendall(sent)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer, time.monotonic() - began


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-",
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
        b'content-length: 500\r\n\r\n{"model": "gpt-4o-mini", "messages": [',
    ],
    ids=["nothing", "half-a-head", "half-a-body"],
)
def test_a_client_that_stalls_gets_a_408_and_its_connection_closed(impatient: str, sent: bytes) -> None:
    answer, waited = _stalled(impatient, sent)
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 408"), answer[:300]
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert 1.9 < waited < 8
    assert httpx.get(f"{impatient}/health", timeout=10).status_code == 200


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_a_body_that_stalls_on_the_anthropic_api_is_a_408_in_its_shape(impatient: str, path: str) -> None:
    """It was in OpenAI's shape, as a body over the cap there already was not (a 413 in Anthropic's)."""
    head = f"POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n"
    answer, _ = _stalled(impatient, head.encode() + b'{"model": "claude-3-5-haiku-latest", "messages": [')
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 408"), answer[:300]
    assert json.loads(body) == {"type": "error", "error": {"type": "invalid_request_error", "message": ANY}}


def test_a_kept_alive_connection_idle_between_requests_is_no_408(impatient: str) -> None:
    """Past client_read_timeout between two requests on one connection (within uvicorn's 5 s keep-alive)."""
    parts = urlsplit(impatient)
    request = b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        for pause in (0, 2.6):
            time.sleep(pause)
            sock.sendall(request)
            answer = _read_answer(sock)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_a_second_request_that_stalls_on_a_kept_alive_connection_gets_a_408(impatient: str) -> None:
    """The first request answered in full, the second's head half sent: a 408 as on a fresh connection (the
    answered request's cycle is no answer in progress)."""
    parts = urlsplit(impatient)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        assert _read_answer(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: localhost\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]


def test_a_request_sent_slowly_but_within_the_timeout_is_served(impatient: str) -> None:
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "slowly"}]}).encode()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
    parts = urlsplit(impatient)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        time.sleep(0.4)
        sock.sendall(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.4)
        sock.sendall(body[10:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_a_request_that_is_not_http_is_a_400_in_openai_shape(served: str) -> None:
    answer, _ = _stalled(served, b"GARBAGE\x00\x01 / HTTP/9.9\r\n\r\n")
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 400"), answer[:300]
    assert json.loads(body)["error"]["code"] == "invalid_http_request"


@pytest.fixture(scope="module")
def logged(
    tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]
) -> Iterator[tuple[str, Path]]:
    """An impatient `helix serve` and its request log's SQLite file."""
    home = tmp_path_factory.mktemp("logged")
    with helix_process(home, upstream[0].url, "[server]\nclient_read_timeout = 1.0\n") as (url, _):
        yield url, home / "helix.db"


def _logged_row(db: Path, endpoint: str, seen: int) -> tuple[int, str]:
    """The (status, error_code) of the row logged for `endpoint` after the first `seen` ones, once it is written."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with closing(sqlite3.connect(db)) as conn:
            rows = conn.execute(
                "SELECT status, error_code FROM requests WHERE endpoint = ? ORDER BY ts", (endpoint,)
            ).fetchall()
        if len(rows) > seen:
            return rows[seen]
        time.sleep(0.1)
    raise AssertionError(f"no row logged for {endpoint}")


def _count(db: Path, endpoint: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM requests WHERE endpoint = ?", (endpoint,)).fetchone()[0])


ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/messages": "messages", "/v1/embeddings": "embeddings"}


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(("stays", "expected"), [(False, (499, "client_closed")), (True, (408, "request_timeout"))])
def test_a_request_whose_body_never_arrives_is_logged(
    logged: tuple[str, Path], path: str, stays: bool, expected: tuple[int, str]
) -> None:
    """A client that hangs up halfway through its body, or stalls until the server hangs up on it (408), was in no
    log row: now one says which."""
    url, db = logged
    seen = _count(db, ENDPOINTS[path])
    parts = urlsplit(url)
    head = f"POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode() + b'{"model": "gpt-4o-mini", "messages": [')
        if stays:
            assert sock.recv(65536).startswith(b"HTTP/1.1 408")
        else:
            time.sleep(0.3)
    assert _logged_row(db, ENDPOINTS[path], seen) == expected


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_over_the_cap_is_logged_as_a_413(logged: tuple[str, Path], path: str) -> None:
    url, db = logged
    seen = _count(db, ENDPOINTS[path])
    response = httpx.post(f"{url}{path}", content=b"x" * (21 << 20), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert _logged_row(db, ENDPOINTS[path], seen)[0] == 413


_REQUESTS = {
    "/v1/chat/completions": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "squeezed"}]},
    "/v1/messages": {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "squeezed"}]},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "squeezed"},
}


def _raw_deflate(data: bytes) -> bytes:
    squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return squeezer.compress(data) + squeezer.flush()


@pytest.mark.parametrize("path", _REQUESTS)
@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "raw deflate", "gzip, identity"])
def test_a_compressed_body_is_read(served: str, fake: FakeState, path: str, encoding: str) -> None:
    """A body sent with Content-Encoding gzip or deflate (zlib's format or raw, as clients send it) is decompressed,
    and the provider gets the request as JSON."""
    data = json.dumps(_REQUESTS[path]).encode()
    squeezed = (
        _raw_deflate(data)
        if encoding == "raw deflate"
        else (zlib.compress if encoding == "deflate" else gzip.compress)(data)
    )
    header = "deflate" if encoding == "raw deflate" else encoding
    headers = {"content-type": "application/json", "content-encoding": header, "cache-control": "no-cache"}
    response = httpx.post(f"{served}{path}", content=squeezed, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert "squeezed" in json.dumps(fake.requests[-1].body)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_that_decompresses_past_the_cap_is_a_413(logged: tuple[str, Path], path: str) -> None:
    """A 21 KB gzip body that would become 21 MB (a zip bomb, in small): refused as a 413 once decompressed past
    [server] max_body_mb, and logged as one."""
    url, db = logged
    seen = _count(db, ENDPOINTS[path])
    bomb = gzip.compress(b'{"model": "gpt-4o-mini", "input": "' + b"x" * (21 << 20) + b'"}')
    assert len(bomb) < 100_000
    headers = {"content-type": "application/json", "content-encoding": "gzip", "anthropic-version": "2023-06-01"}
    response = httpx.post(f"{url}{path}", content=bomb, headers=headers, timeout=30)
    assert response.status_code == 413, response.text
    assert "max_body_mb" in response.json()["error"]["message"]
    assert response.json()["error"].get("code", "413") == "413"  # as a body too large as sent (no code in Anthropic's)
    assert _logged_row(db, ENDPOINTS[path], seen)[0] == 413


@pytest.mark.parametrize(
    ("encoding", "body", "status"),
    [("br", b"\x1b\x00", 415), ("gzip", b"not gzip at all", 400), ("gzip", gzip.compress(b'{"a": 1}')[:-8], 400)],
    ids=["unsupported", "not gzip", "cut short"],
)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_that_cannot_be_decompressed_is_a_clear_4xx(
    served: str, path: str, encoding: str, body: bytes, status: int
) -> None:
    headers = {"content-type": "application/json", "content-encoding": encoding, "anthropic-version": "2023-06-01"}
    response = httpx.post(f"{served}{path}", content=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "Content-Encoding" in error["message"]


def _exchange(port: int, first: bytes, then: bytes) -> tuple[bytes, bytes]:
    """Send `first` on a keep-alive connection and read its answer; then `then` on the same connection, if it is
    still open: (first answer, second answer or b'' when the server closed the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(first)
        answer = _read_answer(sock)
        try:
            sock.sendall(then)
            second = _read_answer(sock)
        except OSError:
            second = b""
    return answer, second


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return head + b"\r\n\r\n" + body


def _chat_request(port: int, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n%s\r\n" % (port, len(body), extra)
    ) + body


@pytest.mark.parametrize("refusal", ["401", "413"])
def test_a_request_refused_before_its_body_is_read_leaves_no_bytes_for_the_next(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], refusal: str
) -> None:
    """A request answered 401 (or 413) before its body was read: the connection must not read that body as the next
    request (a smuggled request inside it was answered). It is closed, or the body is skipped."""
    toml = "[server]\nmax_body_mb = 1\n" + ("[auth]\nrequire_keys = true\n" if refusal == "401" else "")
    with helix_process(tmp_path, upstream[0].url, toml) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        smuggled = b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n"
        size = 2 * 1024 * 1024 if refusal == "413" else 200
        body = b'{"model": "gpt-4o-mini", "messages": []}' + b" " * size
        # the body ends with a whole request: a server that left it unread would answer it next
        first = _chat_request(port, body + smuggled, b"authorization: Bearer hx-wrong\r\n" if refusal == "401" else b"")
        answer, second = _exchange(port, first, _chat_request(port, b"{}"))
        assert answer.startswith(b"HTTP/1.1 " + refusal.encode()), answer[:200]
        assert b"/health" not in second and b'"status"' not in second, second[:300]
        if second:  # the connection stayed open: the next request is read as itself
            assert second.startswith(b"HTTP/1.1 401" if refusal == "401" else b"HTTP/1.1 400"), second[:200]


@pytest.mark.parametrize("refusal", ["401", "413"])
def test_a_large_body_after_an_early_answer_is_not_read_to_its_end(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], refusal: str
) -> None:
    """A request answered before its body was read, whose body is large: the server read all of it (1 GB declared
    was 1 GB read, at the client's pace); it skips a little, then closes the connection."""
    toml = "[server]\nmax_body_mb = 1\n" + ("[auth]\nrequire_keys = true\n" if refusal == "401" else "")
    with helix_process(tmp_path, upstream[0].url, toml) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        sent = 0
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                _chat_request(port, b"", b"content-length: 1000000000\r\n").replace(b"content-length: 0\r\n", b"")
            )
            assert _read_answer(sock).startswith(b"HTTP/1.1 " + refusal.encode())
            with pytest.raises(OSError):
                while sent < 1_000_000_000:
                    sock.sendall(b"x" * 65536)
                    sent += 65536
        assert sent < 64 * 1024 * 1024, sent


_H2C = b"connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"


@pytest.mark.parametrize("pieces", [1, 2, 7])
def test_a_post_that_asks_to_upgrade_to_h2c_is_served_over_http_1_1(served: str, pieces: int) -> None:
    """`Upgrade: h2c` (what `curl --http2` sends): llhttp ends the request at its head and leaves the rest to the new
    protocol, which uvicorn dropped, so the app read an empty body: a 400 'the request body is empty'. The upgrade is
    ignored, as HTTP/1.1 lets a server, and the body read, in whatever pieces it comes; the connection goes on."""
    port = int(served.rsplit(":", 1)[1])
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "h2c?"}]}).encode()
    request = _chat_request(port, body, _H2C)
    head_end = request.index(b"\r\n\r\n") + 4
    cuts = [head_end + len(body) * i // pieces for i in range(pieces)] + [len(request)]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request[: cuts[0]])
        for start, end in itertools.pairwise(cuts):
            time.sleep(0.05)
            sock.sendall(request[start:end])
        first = _read_answer(sock)
        sock.sendall(_chat_request(port, body))  # the same connection, after the upgrade ignored
        second = _read_answer(sock)
    for answer in (first, second):
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert b"echo: h2c?" in answer or b"chatcmpl" in answer, answer


def test_requests_without_a_body_that_ask_to_upgrade_are_served_with_the_ones_after_them(served: str) -> None:
    port = int(served.rsplit(":", 1)[1])
    health = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n%s\r\n"
    answers = raw_request(served, health % (port, _H2C) + health % (port, b"connection: close\r\n"))  # one write
    assert answers.count(b"HTTP/1.1 200 OK") == 2 and answers.count(b'"status":"ok"') == 2, answers


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_chunked_body_that_asks_to_upgrade_is_a_clear_400(served: str, path: str) -> None:
    """Its body is left to a protocol Helix does not speak: refused saying so (in Anthropic's shape on its API), not
    read as an empty body."""
    head = b"POST %s HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n" % path.encode()
    answer = raw_request(served, head + b"transfer-encoding: chunked\r\n" + _H2C + b"\r\n2\r\n{}\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert "Upgrade" in body["error"]["message"], body
    if path == "/v1/messages":
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error", body
    else:
        assert body["error"]["code"] == "unsupported_upgrade", body


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        (b"x-api-key: \x01\r\n", b"400"),
        # sent in one piece, read in one: the server has nothing left unread to reset the connection with on closing it
        (b"".join(b"x-h%d: 1\r\n" % i for i in range(1000)), b"431"),
    ],
    ids=["a control character", "too many headers"],
)
def test_a_head_refused_on_the_anthropic_api_is_in_its_shape(served: str, extra: bytes, status: bytes) -> None:
    """Refused before the app sees it, it was in OpenAI's shape even on /v1/messages, which Anthropic's SDK reads
    as no error of its own."""
    head = b"POST /v1/messages HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 2\r\n"
    answer = raw_request(served, head + extra + b"\r\n{}")
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:300]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error", body
