"""`helix serve` as a process: live reload (SIGHUP, `helix reload`) and graceful shutdown (SIGTERM) with
streams in flight."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import EMBEDDING_MODEL, serve_process, wait_until_healthy
from tests.fake_upstream import FakeState, ServerThread
from tests.test_cli import free_port, helix_cmd

# slow-stream answers in 4-character chunks, 0.2 s apart: this prompt streams for about 2 s.
LONG_PROMPT = "one two three four five six seven eight nine ten"


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    config: Path
    db: Path
    env: dict[str, str]

    def write_config(self, models: str, **sections: str) -> None:
        self.config.write_text(_config(self.config.parent, self.db, self._upstream, models, **sections))

    _upstream: str = ""


def _config(
    folder: Path,
    db: Path,
    upstream: str,
    models: str,
    cache: str = "enabled = false",
    pii: str = "enabled = false",
    server: str = "",
    limits: str = "",
) -> str:
    return f"""
[storage]
path = "{db}"
[server]
shutdown_grace = 20.0
{server}
[dashboard]
enabled = false
[providers.openai]
base_url = "{upstream}/v1"
api_key = "sk-test"
[cache]
embedding_model_path = "{EMBEDDING_MODEL}"
{cache}
[pii]
{pii}
[limits]
{limits}
{models}
"""


@pytest.fixture
def served(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Served]:
    yield from _serve(tmp_path, upstream[0].url)


@pytest.fixture
def served_briefly(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Served]:
    """A server whose SIGTERM waits 1 s for what is in flight."""
    yield from _serve(tmp_path, upstream[0].url, {"HELIX_SERVER__SHUTDOWN_GRACE": "1"})


def _serve(tmp_path: Path, upstream: str, more_env: dict[str, str] | None = None) -> Iterator[Served]:
    port = free_port()
    config, db = tmp_path / "helix.toml", tmp_path / "helix.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELIX_", "OPENAI_", "ANTHROPIC_"))}
    env.update(HELIX_HOME=str(tmp_path / "home"), HELIX_CONFIG=str(config), **(more_env or {}))
    config.write_text(_config(tmp_path, db, upstream, '[models.m]\ntarget = "openai/slow-stream"\n'))
    process = serve_process(env, tmp_path, port)
    instance = Served(f"http://127.0.0.1:{port}", process, config, db, env, upstream)
    try:
        wait_until_healthy(instance.url, process)
        yield instance
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=20)


def _stream(url: str, model: str, results: list[str], started: threading.Event) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": LONG_PROMPT}], "stream": True}
    text = ""
    try:
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as response:
            for line in response.iter_lines():
                started.set()
                text += line + "\n"
    except httpx.HTTPError as exc:
        text += f"CUT: {exc!r}"
    results.append(text)


def _start_streams(url: str, n: int, model: str = "m") -> tuple[list[threading.Thread], list[str]]:
    results: list[str] = []
    threads, events = [], []
    for _ in range(n):
        started = threading.Event()
        thread = threading.Thread(target=_stream, args=(url, model, results, started), daemon=True)
        thread.start()
        threads.append(thread)
        events.append(started)
    for started in events:
        assert started.wait(10), "a stream did not start"
    return threads, results


def _complete(text: str) -> bool:
    """The whole answer arrived, then the stream's terminator."""
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assembled = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices"))
    return text.rstrip().endswith("data: [DONE]") and assembled == f"echo: {LONG_PROMPT}"


def _served_model(url: str) -> str:
    body = {"model": "m", "messages": [{"role": "user", "content": "which"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).headers["x-helix-model"]


def test_sighup_changes_a_route_while_streams_are_in_flight(served: Served, fake: FakeState) -> None:
    threads, results = _start_streams(served.url, 3)
    served.write_config('[models.m]\ntarget = "openai/gpt-4o"\n')
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while _served_model(served.url) != "gpt-4o":
        assert time.monotonic() < deadline, "the new route never took effect"
        time.sleep(0.1)
    for thread in threads:
        thread.join(20)
    assert len(results) == 3 and all(_complete(text) for text in results), results

    # An invalid file is refused with one line; the running config keeps serving.
    served.config.write_text(served.config.read_text() + "\n[models.broken]\ntarget = 5\n")
    served.process.send_signal(signal.SIGHUP)
    refused = helix_cmd("reload", "--url", served.url, env=served.env)
    assert refused.returncode == 1
    assert "config reload refused" in refused.stderr and "models.broken" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert _served_model(served.url) == "gpt-4o"

    served.write_config('[models.m]\ndeployments = [{ target = "openai/gpt-4o-mini" }]\n')
    accepted = helix_cmd("reload", "--url", served.url, env=served.env)
    assert accepted.returncode == 0 and "[models] changed" in accepted.stdout, accepted.stdout + accepted.stderr
    assert _served_model(served.url) == "gpt-4o-mini"

    served.process.send_signal(signal.SIGTERM)
    output = served.process.communicate(timeout=30)[0]
    assert served.process.returncode == 0, output
    assert output.count("config reload refused") == 1  # SIGHUP's, in one line


def _ask(url: str, content: str, model: str = "gpt-4o-mini") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)


def _reload(served: Served) -> str:
    done = helix_cmd("reload", "--url", served.url, env=served.env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_request_after_a_reload_waits_for_the_same_one_asked_before_it(served: Served, fake: FakeState) -> None:
    """Faults round 26: every reload built the cache stage afresh with an empty table of requests in flight, so the
    same request asked after a reload (one that changed only [limits]) asked the provider again."""
    models = '[models.m]\ntarget = "openai/slow-8"\n'
    served.write_config(models, cache="enabled = true\nsemantic = false")
    _reload(served)
    fake.requests.clear()
    results: list[httpx.Response] = []
    first = threading.Thread(target=lambda: results.append(_ask(served.url, "the same question", "m")))
    first.start()
    time.sleep(0.3)
    served.write_config(models, cache="enabled = true\nsemantic = false", limits="rpm = 1000")
    assert "[limits] changed" in _reload(served)
    assert first.is_alive()  # still asking the provider
    second = _ask(served.url, "the same question", "m")
    first.join(30)
    assert results[0].status_code == 200 and second.status_code == 200, second.text
    assert second.headers["x-helix-cache"] == "HIT-EXACT"
    assert len(fake.requests) == 1


def test_reload_rebuilds_pii_cache_and_limits_while_streams_are_in_flight(served: Served, fake: FakeState) -> None:
    models = '[models.m]\ntarget = "openai/slow-stream"\n'
    pattern_only = 'enabled = true\nspacy_model = "off"\nentities = ["EMAIL_ADDRESS"]'
    threads, results = _start_streams(served.url, 2)
    served.write_config(models, pii=pattern_only, cache="enabled = true\nsemantic = false", limits="rpm = 2")
    assert "[pii], [cache], [limits] changed" in _reload(served)
    for thread in threads:
        thread.join(20)
    assert len(results) == 2 and all(_complete(text) for text in results), results  # on the old chain

    # [pii]: the new engine redacts; [cache]: on, exact; [limits]: a global rpm of 2.
    fake.requests.clear()
    first = _ask(served.url, "write to ann@example.com")
    assert "ann@example.com" not in json.dumps(fake.requests[-1].body)
    assert _ask(served.url, "write to ann@example.com").headers["x-helix-cache"] == "HIT-EXACT"
    refused = _ask(served.url, "a third request this minute")
    assert first.status_code == 200 and refused.status_code == 429, refused.text

    # An allow list, a looser limit, the cache off: each in effect on the next request.
    served.write_config(
        models, pii=pattern_only + '\nallow_list = ["ann@example.com"]', cache="enabled = false", limits="rpm = 1000"
    )
    assert "[pii], [cache], [limits] changed" in _reload(served)
    fake.requests.clear()
    answer = _ask(served.url, "write to ann@example.com")
    assert answer.status_code == 200 and "ann@example.com" in json.dumps(fake.requests[-1].body)
    assert "x-helix-cache" not in answer.headers or answer.headers["x-helix-cache"] != "HIT-EXACT"

    # The server's HTTP caps and the database path cannot change in a running server: named, not applied; nor
    # can the embedding model of a cache built already. The rest is.
    served.write_config(models, server="max_header_kb = 64", cache="enabled = false")
    served.config.write_text(served.config.read_text().replace(f'"{served.db}"', f'"{served.db}.moved"'))
    said = _reload(served)
    assert "[pii], [limits] changed" in said
    assert "not applied, as a running server cannot change them: [server] max_header_kb, [storage] path" in said
    assert "[cache] semantic (restart Helix to apply)" in said
    assert "restart Helix to apply" in said
    assert _ask(served.url, "still serving").status_code == 200
    assert not Path(f"{served.db}.moved").exists()

    served.process.send_signal(signal.SIGTERM)
    output = served.process.communicate(timeout=30)[0]
    assert served.process.returncode == 0, output


def test_sigterm_lets_streams_in_flight_finish_and_loses_no_log_row(served: Served, fake: FakeState) -> None:
    threads, results = _start_streams(served.url, 4)
    began = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(httpx.TransportError):  # no longer accepting
        httpx.get(f"{served.url}/health", timeout=2)
    output = served.process.communicate(timeout=30)[0]
    assert served.process.returncode == 0, output
    for thread in threads:
        thread.join(10)
    assert len(results) == 4 and all(_complete(text) for text in results), results
    assert time.monotonic() - began > 1.0  # it did wait for them
    conn = sqlite3.connect(served.db)
    try:
        rows = conn.execute("SELECT status, stream FROM requests").fetchall()
    finally:
        conn.close()
    assert rows == [(200, 1)] * 4


def test_a_second_sigterm_exits_at_once(served: Served, fake: FakeState) -> None:
    threads, _ = _start_streams(served.url, 2)
    served.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    began = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    output = served.process.communicate(timeout=30)[0]
    assert time.monotonic() - began < 1.5
    assert served.process.returncode == 1 and "exiting at once" in output
    for thread in threads:
        thread.join(10)


def test_a_second_sigterm_still_writes_every_log_row(served: Served, fake: FakeState) -> None:
    holder = sqlite3.connect(served.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the server's writer now waits for this lock: its rows stay queued
    try:
        for i in range(5):
            assert _ask(served.url, f"queued {i}").status_code == 200  # answered; the log row is queued
        threads, _ = _start_streams(served.url, 1)  # keeps the server draining after the first SIGTERM
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    output = served.process.communicate(timeout=30)[0]
    assert served.process.returncode == 1 and "exiting at once" in output, output
    for thread in threads:
        thread.join(10)
    conn = sqlite3.connect(served.db)
    try:
        rows = conn.execute("SELECT status, stream FROM requests ORDER BY stream").fetchall()
    finally:
        conn.close()
    assert rows == [(200, 0)] * 5 + [(503, 1)]  # the stream in flight was cut, and logged as the server's cut


def _ask_in_thread(url: str, body: dict[str, object], answers: list[httpx.Response]) -> threading.Thread:
    def ask() -> None:
        answers.append(httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread


def _cut_in_flight(served: Served, second_signal: bool) -> tuple[list[httpx.Response], list[str], str]:
    """A plain request and a stream both waiting on the provider, and a stream half sent, when Helix is stopped (and
    stopped again at once, with `second_signal`)."""
    answers: list[httpx.Response] = []
    waiting = [
        _ask_in_thread(
            served.url, {"model": "openai/slow-30", "messages": [{"role": "user", "content": q}], **more}, answers
        )
        for q, more in (("plain", {}), ("streamed", {"stream": True}))
    ]
    streams, texts = _start_streams(served.url, 1)
    time.sleep(0.3)
    served.process.send_signal(signal.SIGTERM)
    if second_signal:
        time.sleep(0.3)
        served.process.send_signal(signal.SIGTERM)
    output = served.process.communicate(timeout=30)[0]
    for thread in [*waiting, *streams]:
        thread.join(10)
    return answers, texts, output


def test_a_request_whose_body_is_still_coming_when_helix_stops_is_told_so_and_logged(served_briefly: Served) -> None:
    """Faults round 26: a request whose body was still arriving when the shutdown grace ran out got uvicorn's
    plain-text 500 (a traceback in the server's output) and no log row."""
    port = int(served_briefly.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}'
        head = f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        conn.sendall(head.encode() + f"content-length: {len(body) + 20}\r\n\r\n".encode() + body)
        time.sleep(0.5)
        served_briefly.process.send_signal(signal.SIGTERM)
        answer = b""
        with suppress(OSError):
            while chunk := conn.recv(65536):
                answer += chunk
    output = served_briefly.process.communicate(timeout=30)[0]
    assert "Exception in ASGI application" not in output and "Traceback" not in output, output
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 503 " in status_line, answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "server_stopping"
    conn_db = sqlite3.connect(served_briefly.db)
    try:
        rows = conn_db.execute("SELECT status, error_code FROM requests").fetchall()
    finally:
        conn_db.close()
    assert rows == [(503, "server_stopping")]


@pytest.mark.parametrize("second_signal", [True, False], ids=["second-sigterm", "past-shutdown-grace"])
def test_requests_cut_by_a_stop_are_told_so_and_logged_so(served_briefly: Served, second_signal: bool) -> None:
    answers, texts, output = _cut_in_flight(served_briefly, second_signal)
    assert "Exception in ASGI application" not in output and "Traceback" not in output, output
    assert [a.status_code for a in answers] == [503, 503]  # not uvicorn's plain-text 500
    assert all(a.json()["error"]["code"] == "server_stopping" for a in answers)
    assert all(a.headers["x-helix-request-id"] for a in answers)
    # the stream half sent ends with the error event OpenAI's SDKs raise on, not silently as if complete
    last = [line for line in texts[0].splitlines() if line.startswith("data: ")][-1]
    assert json.loads(last[6:])["error"]["code"] == "server_stopping", texts[0]
    conn = sqlite3.connect(served_briefly.db)
    try:
        rows = conn.execute("SELECT status, error_code, stream FROM requests ORDER BY stream").fetchall()
    finally:
        conn.close()
    assert sorted(rows) == [(503, "server_stopping", 0), (503, "server_stopping", 1), (503, "server_stopping", 1)]
