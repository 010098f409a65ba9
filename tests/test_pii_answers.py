"""PII the model writes in its own answers: never cached (so never served to someone else), and with
scan_responses = "client" never shown either; streams stay streams."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helix.pii.analyzer import PiiEngine
from helix.pii.answers import HOLD_CHARS, STEP_CHARS, StreamScrubber
from helix.pii.config import PiiConfig
from helix.pii.redact import Redactor
from tests.conftest import Helix, start_helix
from tests.fake_upstream import ECHO_FIELDS, MODEL_WRITTEN_PII, FakeState, ServerThread
from tests.test_pii_proxy import file_bytes

EMAIL, CARD = MODEL_WRITTEN_PII


def ask(
    helix: Helix, stream: bool, text: str = "who owns the account?", model: str = "writes-pii"
) -> tuple[httpx.Response, str]:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
    with httpx.stream("POST", f"{helix.url}/v1/chat/completions", json=body, timeout=30) as response:
        if not stream:
            response.read()
            return response, response.json()["choices"][0]["message"]["content"]
        pieces = []
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunk = json.loads(line[6:])
                pieces += [c["delta"].get("content") or "" for c in chunk["choices"]]
        return response, "\x00".join(pieces)


def on_disk(helix: Helix) -> list[str]:
    data = file_bytes(helix)
    return [v for v in MODEL_WRITTEN_PII if v.encode() in data]


@pytest.fixture
def store_mode(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(tmp_path, upstream[0].url)  # the default: scan_responses = "store"
    yield instance
    instance.server.stop()


@pytest.fixture
def client_mode(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    toml = '[pii]\nscan_responses = "client"\nactions = { EMAIL_ADDRESS = "pseudonymize" }\n'
    instance = start_helix(tmp_path, upstream[0].url, toml)
    yield instance
    instance.server.stop()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_store_mode_keeps_model_written_pii_out_of_the_cache(store_mode: Helix, fake: FakeState, stream: bool) -> None:
    """Kept out, not kept redacted: a hit served the next client `<EMAIL_ADDRESS>` as the answer, and an agent a tool
    call whose argument was `<LOCATION>` (a helper's find). An answer with none is kept as it came."""
    for _ in range(2):
        response, text = ask(store_mode, stream)
        assert response.headers["x-helix-cache"] == "MISS" and EMAIL in text.replace("\x00", "")  # as it came
        assert on_disk(store_mode) == []
    assert len(fake.requests) == 2 and store_mode.rows("SELECT count(*) AS n FROM cache_entries")[0]["n"] == 0
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "no personal data here"}]}
    for expected in ("MISS", "HIT-EXACT"):
        response = httpx.post(f"{store_mode.url}/v1/chat/completions", json=body, timeout=30)
        store_mode.flush()
        assert response.headers["x-helix-cache"] == expected


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_client_mode_redacts_what_the_client_sees(client_mode: Helix, fake: FakeState, stream: bool) -> None:
    response, text = ask(client_mode, stream, "the account of me@mine.io: who owns it?")
    assert response.status_code == 200
    whole = text.replace("\x00", "")
    assert EMAIL not in whole and CARD not in whole and "<EMAIL_ADDRESS>" in whole and "<CREDIT_CARD>" in whole
    assert "me@mine.io" in whole  # the client's own value, pseudonymized on the way out, comes back
    if stream:
        assert len([p for p in text.split("\x00") if p]) > 3, "still streamed, not buffered into one piece"
    assert on_disk(client_mode) == []


def sse_data(helix: Helix, body: dict[str, Any], path: str = "/v1/chat/completions") -> list[dict[str, Any]]:
    """The `data:` objects of a stream, in order."""
    with httpx.stream("POST", f"{helix.url}{path}", json={**body, "stream": True}, timeout=30) as response:
        assert response.status_code == 200, response.read()
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


def tool_calls_of(chunks: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The (id, name, arguments) of each tool call a chat stream carries, read as a client that tells calls apart by
    id does: a delta with another id than the call before starts a call."""
    calls: list[list[str]] = []
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            for call in (choice.get("delta") or {}).get("tool_calls") or []:
                if call.get("id") and (not calls or calls[-1][0] != call["id"]):
                    calls.append([call["id"], "", ""])
                function = call.get("function") or {}
                calls[-1][1] += function.get("name") or ""
                calls[-1][2] += function.get("arguments") or ""
    return [(call_id, name, arguments) for call_id, name, arguments in calls]


PARALLEL_CALLS = [("call_1", "get_weather", '{"city": "Paris"}'), ("call_2", "get_time", '{"tz": "UTC"}')]
WHOLE_REDACTED = (
    "echo: who owns the account? The owner is <EMAIL_ADDRESS> and they paid with card <CREDIT_CARD>. "
    + "More text. " * 40
)


@pytest.mark.parametrize("model", ["writes-pii", "writes-pii@one-chunk", "writes-pii@azure"])
def test_client_mode_redacts_streams_of_every_shape_in_order(client_mode: Helix, fake: FakeState, model: str) -> None:
    """Two shapes got past or out of order (a helper's finds): the text held back was put before the finish chunk's
    own text (vLLM and llama.cpp send text with the finish_reason), and a stream opening with Azure's content-filter
    chunk (no choices, an empty `object`) was taken for a Responses stream, so the model's PII reached the client."""
    response, text = ask(client_mode, True, model=model)
    assert response.status_code == 200 and text.replace("\x00", "") == WHOLE_REDACTED


def test_client_mode_keeps_parallel_calls_at_one_index_apart(client_mode: Helix, fake: FakeState) -> None:
    """Providers that send no index put every call at 0 and tell them apart by id: their arguments were held in one
    channel and came out as one id-less call."""
    body = {"model": "tools-at-zero", "messages": [{"role": "user", "content": "weather and time in Paris?"}]}
    assert tool_calls_of(sse_data(client_mode, body)) == PARALLEL_CALLS


def test_client_mode_hands_an_anthropic_client_text_then_its_tool_call(client_mode: Helix, fake: FakeState) -> None:
    """The text held back for analysis came out with the finish chunk, after the tool call: the translation for an
    Anthropic client refused the stream (`a tool call of index 0 out of its order`)."""
    body = {"model": "text-then-tool", "max_tokens": 100, "messages": [{"role": "user", "content": "Paris weather?"}]}
    events = sse_data(client_mode, body, "/v1/messages")
    assert not [e for e in events if e["type"] == "error"], events
    assert [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"] == ["text", "tool_use"]
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    assert "".join(d["text"] for d in deltas if d["type"] == "text_delta") == "Let me check the weather. "
    assert json.loads("".join(d["partial_json"] for d in deltas if d["type"] == "input_json_delta")) == {
        "city": "Paris"
    }


def test_off_mode_leaves_answers_alone(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> None:
    instance = start_helix(tmp_path, upstream[0].url, '[pii]\nscan_responses = "off"\n')
    try:
        response, text = ask(instance, False)
        assert EMAIL in text and response.status_code == 200
    finally:
        instance.server.stop()


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(PiiEngine(PiiConfig(actions={"EMAIL_ADDRESS": "pseudonymize", "US_SSN": "block"})))


def test_stream_scrubber_matches_whole_text_redaction_token_by_token(redactor: Redactor) -> None:
    text = (
        "Sure. " * 30
        + "Write to ann.lee@leakmail.io, or call +44 20 7946 0958; her SSN is 536-22-8751. "
        + "Then " * 60
        + "the key sk-proj-Zq8Wm2Xn4Bv6Cx1Lk3Jh5Gf7Ds9Ap0Qw and done."
    )
    scrubber = StreamScrubber(redactor)
    out, held = [], []
    for i in range(0, len(text), 3):
        out.append(scrubber.feed(text[i : i + 3]))
        held.append(scrubber.held_back)
    out.append(scrubber.flush())
    streamed = "".join(out)
    for value in ("ann.lee@leakmail.io", "7946 0958", "536-22-8751", "sk-proj-Zq8Wm2"):
        assert value not in streamed
    assert "<EMAIL_ADDRESS>" in streamed and "<US_SSN>" in streamed  # no placeholders, no refusals in answers
    assert max(held) <= HOLD_CHARS + STEP_CHARS + 3, "bounded hold-back"
    assert sum(1 for piece in out if piece) > 3


def test_a_long_value_being_written_is_held_and_analysed_a_few_times_not_at_every_token(redactor: Redactor) -> None:
    """Round 18: one finding as long as the held text (a private key written 4 characters at a time) passed nothing
    on, so every token analysed all of it again: a 6.6 KB key took 7 s. Now the held text must double first."""
    lines = [f"MIIEow{i:04d}IBAAKCAQEA7Qx9vL2mN4pR8sT1uW3yZ5aB7cD9eF1gH3jK5mN7pQ9rS1tU3vW5xY7" for i in range(100)]
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"
    text = key + "\nKeep it safe. " + "Then " * 80
    scrubber = StreamScrubber(redactor)
    out, analyses = [], 0
    for i in range(0, len(text), 4):
        analyses += scrubber.analyses(text[i : i + 4])
        out.append(scrubber.feed(text[i : i + 4]))
    streamed = "".join(out) + scrubber.flush()
    assert not any(line in streamed for line in lines) and "<PRIVATE_KEY>" in streamed
    assert streamed.endswith("Then " * 80)
    assert analyses < 30  # one a token: ~1,700


def spy_on_stream_windows(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Where each stream window's analysis runs from now on: "event loop" or the thread's name."""
    where: list[str] = []
    emit = StreamScrubber._emit

    def spy(self: StreamScrubber, *, final: bool) -> str:  # records where it ran, then does the real work
        try:
            asyncio.get_running_loop()
            where.append("event loop")
        except RuntimeError:
            where.append(threading.current_thread().name)
        return emit(self, final=final)

    monkeypatch.setattr(StreamScrubber, "_emit", spy)
    return where


def test_client_mode_stream_analysis_runs_in_the_executor(
    client_mode: Helix, fake: FakeState, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = spy_on_stream_windows(monkeypatch)
    response, text = ask(client_mode, True, "a streamed question about the account")
    whole = text.replace("\x00", "")
    assert response.status_code == 200 and EMAIL not in whole and CARD not in whole and "<CREDIT_CARD>" in whole
    assert len(where) >= 2, "at least one window mid-stream and the final flush"
    assert "event loop" not in where and all(name.startswith("helix-pii") for name in where), where


def native_stream(helix: Helix, path: str, body: dict[str, object]) -> list[str]:
    """The text pieces of a Responses (`output_text` deltas) or legacy completions (`choices[].text`) stream."""
    pieces = []
    with httpx.stream("POST", f"{helix.url}{path}", json={**body, "stream": True}, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                event = json.loads(line[6:])
                if event.get("type") == "response.output_text.delta":
                    pieces.append(event["delta"])
                pieces += [c.get("text") or "" for c in event.get("choices") or []]
    return pieces


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/responses", {"model": "writes-pii", "input": "a streamed question about the account"}),
        ("/v1/completions", {"model": "writes-pii", "prompt": "a streamed question about the account"}),
    ],
    ids=["responses", "completions"],
)
def test_client_mode_native_stream_analysis_runs_in_the_executor(
    client_mode: Helix, fake: FakeState, monkeypatch: pytest.MonkeyPatch, path: str, body: dict[str, object]
) -> None:
    where = spy_on_stream_windows(monkeypatch)
    pieces = native_stream(client_mode, path, body)
    whole = "".join(pieces)
    assert EMAIL not in whole and CARD not in whole and "<EMAIL_ADDRESS>" in whole and "<CREDIT_CARD>" in whole
    assert len([p for p in pieces if p]) > 3, "still streamed, not buffered into one piece"
    assert len(where) >= 2, "at least one window mid-stream and the final flush"
    assert "event loop" not in where and all(name.startswith("helix-pii") for name in where), where


def _field_text(message: dict[str, Any], field: str) -> str | None:
    return message[field].get("arguments") if field == "function_call" else message[field]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("field", ECHO_FIELDS)
def test_every_text_the_model_writes_is_restored_and_scrubbed(
    client_mode: Helix, fake: FakeState, field: str, stream: bool
) -> None:
    """The model's reasoning (DeepSeek's `reasoning_content`, OpenRouter's `reasoning`), a refusal and a legacy
    function call's arguments reached the client with the placeholder of its own value in them (an agent ran
    `save(note="<EMAIL_ADDRESS_1>")`), and streamed, with the model's own PII unredacted (faults round 14)."""
    body = {"model": f"echo-in-{field}", "messages": [{"role": "user", "content": "the account of me@mine.io"}]}
    if stream:
        chunks = sse_data(client_mode, body)
        deltas = [c["delta"] for chunk in chunks for c in chunk["choices"]]
        pieces = [_field_text({field: {}, **d}, field) or "" for d in deltas]
        assert len([p for p in pieces if p]) > 1, "still streamed"
        text = "".join(pieces)
    else:
        answer = httpx.post(f"{client_mode.url}/v1/chat/completions", json=body, timeout=30)
        text = _field_text(answer.json()["choices"][0]["message"], field)
    assert "me@mine.io" in text and "EMAIL_ADDRESS_" not in text  # the client's own value back
    assert EMAIL not in text and "<EMAIL_ADDRESS>" in text  # the model's, redacted
    if field == "function_call":
        assert json.loads(text)["note"].startswith("echo: the account of me@mine.io")
    sent = json.dumps(fake.requests[-1].body)
    assert "me@mine.io" not in sent


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", ["reasoning_summary", "refusal"])
def test_a_responses_reasoning_summary_and_refusal_are_restored_and_scrubbed(
    client_mode: Helix, fake: FakeState, kind: str, stream: bool
) -> None:
    """Passed through from an OpenAI-kind provider, a Responses stream's reasoning summary and refusal deltas kept
    the placeholders and the model's own PII while their `.done` events were rewritten: the two disagreed."""
    body = {"model": f"echo-in-{kind}", "input": "the account of me@mine.io"}
    if stream:
        events = sse_data(client_mode, body, "/v1/responses")
        event = "response.reasoning_summary_text" if kind == "reasoning_summary" else "response.refusal"
        deltas = [e["delta"] for e in events if e["type"] == f"{event}.delta"]
        (done,) = [e for e in events if e["type"] == f"{event}.done"]
        texts = ["".join(deltas), done["text" if kind == "reasoning_summary" else "refusal"]]
        assert texts[0] == texts[1]
    else:
        output = httpx.post(f"{client_mode.url}/v1/responses", json=body, timeout=30).json()["output"]
        if kind == "reasoning_summary":
            texts = [output[0]["summary"][0]["text"]]
        else:
            texts = [output[0]["content"][0]["refusal"]]
    for text in texts:
        assert "me@mine.io" in text and "EMAIL_ADDRESS_" not in text
        assert EMAIL not in text and "<EMAIL_ADDRESS>" in text


def test_reasoning_beside_empty_content_is_restored_across_its_pieces(client_mode: Helix, fake: FakeState) -> None:
    """A server that sends `"content": ""` beside each piece of reasoning: taken as a turn to the text's channel, it
    handed over what the reasoning's held back, a placeholder cut between two pieces went out as it was."""
    body = {"model": "echo-in-reasoning_content@empty-content", "messages": [_user_turn("the account of me@mine.io")]}
    chunks = sse_data(client_mode, body)
    text = "".join(c["delta"].get("reasoning_content") or "" for chunk in chunks for c in chunk["choices"])
    assert "me@mine.io" in text and "EMAIL_ADDRESS_" not in text


def _user_turn(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}
