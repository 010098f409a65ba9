"""The PII firewall through the real server: what the provider receives, what the file holds, what comes back."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helix.pii.analyzer import Recall
from tests.conftest import SPACY_MODEL, Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread

DATA = Path(__file__).parent / "data" / "pii_prompts.jsonl"
PROMPTS = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
NER_ENTITIES = {"PERSON", "LOCATION"}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def file_bytes(helix: Helix) -> bytes:
    helix.flush()
    return b"".join(p.read_bytes() for p in helix.db_path.parent.glob(helix.db_path.name + "*"))


def chat(helix: Helix, text: str, **extra: Any) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}
    return httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)


@pytest.fixture
def firewall(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    toml = """
[pii]
actions = { PERSON = "pseudonymize", EMAIL_ADDRESS = "pseudonymize", US_SSN = "block" }
"""
    instance = start_helix(tmp_path, upstream[0].url, toml)
    yield instance
    instance.server.stop()


def test_no_planted_value_reaches_the_provider_or_the_file(firewall: Helix, fake: FakeState) -> None:
    planted = [(p, v) for p in PROMPTS for v in p["planted"] if v["entity"] not in NER_ENTITIES]
    assert len(planted) >= 60
    sent_prompts = 0
    for prompt in PROMPTS:
        if not any(v["entity"] not in NER_ENTITIES for v in prompt["planted"]):
            continue
        response = chat(firewall, prompt["text"])
        assert response.status_code in (200, 400), response.text
        sent_prompts += 1
    seen = "\n".join(s for r in fake.requests for s in strings(r.body))
    leaked = [v["value"] for _, v in planted if v["value"] in seen]
    assert leaked == [], f"{len(leaked)} planted values reached the provider: {leaked}"
    on_disk = file_bytes(firewall)
    stored = [v["value"] for _, v in planted if v["value"].encode() in on_disk]
    assert stored == [], f"planted values found in the SQLite file: {stored}"
    assert sent_prompts >= 60


def test_lookalikes_are_left_alone(firewall: Helix, fake: FakeState) -> None:
    clean = [p["text"] for p in PROMPTS if not p["planted"]]
    assert len(clean) >= 30
    changed = []
    for text in clean:
        assert chat(firewall, text).status_code == 200
    received = [r.body["messages"][-1]["content"] for r in fake.calls("/v1/chat/completions")]
    changed = [sent for sent, got in zip(clean, received, strict=True) if sent != got]
    rate = len(changed) / len(clean)
    print(f"\nfalse-positive rate on {len(clean)} clean prompts: {rate:.1%}")
    assert rate <= 0.05, changed


def test_pseudonymized_values_come_back_in_the_answer(firewall: Helix, fake: FakeState) -> None:
    text = "Please email jane.doe@example.com and copy ops@example.org about the outage."
    response = chat(firewall, text)
    assert response.json()["choices"][0]["message"]["content"] == f"echo: {text}"
    sent = fake.calls("/v1/chat/completions")[0].body["messages"][0]["content"]
    assert sent == "Please email <EMAIL_ADDRESS_1> and copy <EMAIL_ADDRESS_2> about the outage."


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_restored_value_keeps_a_json_answer_json(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], stream: bool
) -> None:
    """An answer asked for as JSON quotes a placeholder inside a JSON string: a value restored there unescaped (a
    backslash, a quote) broke the JSON the client asked for (faults round 13)."""
    instance = start_helix(tmp_path, upstream[0].url, '[pii]\nactions = { PASSWORD = "pseudonymize" }\n')
    try:
        text = 'my password=Tr0ub\\4d0r3xQ and "quotes"'
        question = [{"role": "user", "content": text}]
        client = instance.client()
        asked = {"model": "json-echo", "messages": question, "response_format": {"type": "json_object"}}
        if stream:
            chunks = list(client.chat.completions.create(**asked, stream=True))
            content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            content = client.chat.completions.create(**asked).choices[0].message.content or ""
        assert json.loads(content) == {"echo": text}
        sent = upstream[1].calls("/v1/chat/completions")[-1].body["messages"][0]["content"]
        assert "Tr0ub" not in sent
        # the Responses API, passed through: its output text is the JSON document
        answered = client.responses.create(
            model="json-echo", input=text, text={"format": {"type": "json_object"}}, stream=stream
        )
        if stream:
            done = [event for event in answered if event.type == "response.completed"]
            answered = done[0].response
        assert json.loads(answered.output_text) == {"echo": text}
    finally:
        instance.server.stop()


def test_pseudonymized_values_come_back_in_a_stream(firewall: Helix, fake: FakeState) -> None:
    text = "Write to jane.doe@example.com, then to jane.doe@example.com again, and to bob@example.net."
    client = firewall.client()
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True)
    )
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(pieces) == f"echo: {text}"
    assert len([p for p in pieces if p]) > 5  # still streamed, not buffered into one piece
    sent = fake.calls("/v1/chat/completions")[0].body["messages"][0]["content"]
    assert sent.count("<EMAIL_ADDRESS_1>") == 2 and "<EMAIL_ADDRESS_2>" in sent


@pytest.mark.parametrize("shape", ["@azure", "@one-chunk"])
def test_pseudonymized_values_come_back_in_streams_of_other_shapes(
    firewall: Helix, fake: FakeState, shape: str
) -> None:
    """A stream opening with Azure's content-filter chunk was taken for a Responses stream and kept its placeholders;
    a finish chunk with text put the text held back (a partial placeholder, "<") before its own."""
    text = "Mail jane.doe@example.com if x <"
    client = firewall.client()
    chunks = client.chat.completions.create(
        model=f"gpt-4o-mini{shape}", messages=[{"role": "user", "content": text}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"echo: {text}"


def test_block_refuses_without_naming_the_value(firewall: Helix, fake: FakeState) -> None:
    response = chat(firewall, "My SSN is 536-22-8751, can you check my benefits?")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "pii_blocked" and "US_SSN" in error["message"]
    assert "536-22-8751" not in response.text
    assert not fake.requests
    rows = firewall.rows("SELECT entity_type, action, count FROM pii_incidents")
    assert [tuple(r) for r in rows] == [("US_SSN", "block", 1)]


def test_every_role_and_tool_arguments_are_covered(firewall: Helix, fake: FakeState) -> None:
    messages = [
        {"role": "system", "content": "The admin is root@corp.example.com."},
        {"role": "user", "content": [{"type": "text", "text": "Card 4111 1111 1111 1111 was declined"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"ip": "203.0.113.77"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "owner key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789AB"},
    ]
    response = httpx.post(f"{firewall.url}/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": messages})
    assert response.status_code == 200
    seen = "\n".join(strings(fake.requests[0].body))
    for value in ("root@corp.example.com", "4111 1111 1111 1111", "203.0.113.77", "sk-proj-abcdefghijklmnop"):
        assert value not in seen
    arguments = fake.requests[0].body["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"ip": "<IP_ADDRESS>"}


_GLUED_KEY = "sk-proj-NqVwYS81VP7Hb1DX8pPd5khxE3pyIgKpaUnArl63XykWZeiN"


def test_a_key_glued_to_a_word_by_a_hyphen_is_found_in_a_prompt_and_refused_as_a_model(
    firewall: Helix, fake: FakeState
) -> None:
    """Round 18: "claude-sk-proj-..." reached the provider, in a message and as a model's name (a key pasted on)."""
    calls = len(fake.requests)
    refused = chat(firewall, "hi", model="gpt-4o-" + _GLUED_KEY)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_model"
    assert _GLUED_KEY not in refused.text and len(fake.requests) == calls
    assert chat(firewall, f"use claude-{_GLUED_KEY} now").status_code == 200
    assert _GLUED_KEY not in json.dumps(fake.requests[-1].body)
    assert "task-sk-free-version-of-the-longest-name" in json.dumps(
        chat(firewall, "the task-sk-free-version-of-the-longest-name ok").json()
    )


def test_embeddings_inputs_are_redacted(firewall: Helix, fake: FakeState) -> None:
    firewall.client().embeddings.create(model="text-embedding-3-small", input=["call 555-867-5309 now", "plain"])
    sent = fake.calls("/v1/embeddings")[0].body["input"]
    assert "555-867-5309" not in sent[0] and sent[1] == "plain"


def test_pseudonymized_request_hits_the_cache_and_gets_its_own_values(firewall: Helix, fake: FakeState) -> None:
    first = chat(firewall, "Send the invoice to anna@example.com today.")
    firewall.flush()
    second = chat(firewall, "Send the invoice to omar@example.org today.")
    assert second.headers["x-helix-cache"] == "HIT-EXACT"
    assert second.json()["choices"][0]["message"]["content"] == "echo: Send the invoice to omar@example.org today."
    assert first.json()["choices"][0]["message"]["content"].endswith("anna@example.com today.")
    assert len(fake.calls("/v1/chat/completions")) == 1


def test_incidents_hold_types_and_counts_never_values(firewall: Helix, fake: FakeState) -> None:
    chat(firewall, "Reach me at 202-555-0143 or lee@example.com, or lee@example.com.")
    rows = firewall.rows("SELECT entity_type, count, action, request_id FROM pii_incidents ORDER BY entity_type")
    assert [(r["entity_type"], r["count"], r["action"]) for r in rows] == [
        ("EMAIL_ADDRESS", 2, "pseudonymize"),
        ("PHONE_NUMBER", 1, "redact"),
    ]
    assert rows[0]["request_id"].startswith("req_")
    assert b"lee@example.com" not in file_bytes(firewall)


def test_analysis_failure_fails_closed(firewall: Helix, fake: FakeState, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(texts: object) -> object:
        raise RuntimeError("analyzer crashed")

    monkeypatch.setattr(firewall.gateway.pii, "analyze_many", broken)
    response = chat(firewall, "hello there")
    assert response.status_code == 503 and response.json()["error"]["code"] == "pii_check_failed"
    assert not fake.requests


def test_a_resent_history_is_redacted_on_the_event_loop_and_a_new_one_in_the_pii_thread(
    firewall: Helix, fake: FakeState, monkeypatch: pytest.MonkeyPatch
) -> None:
    where: list[str] = []
    complete = firewall.gateway.pii.complete

    def spy(recalled: Recall) -> object:  # records where a request's new texts were analysed, then does the real work
        texts = list(recalled.misses.values())
        if texts and not any(t.startswith(("echo: ", "chatcmpl-")) for t in texts):  # not the answers (cache scan)
            try:
                asyncio.get_running_loop()
                where.append("event loop")
            except RuntimeError:
                where.append(threading.current_thread().name)
        return complete(recalled)

    monkeypatch.setattr(firewall.gateway.pii, "complete", spy)
    turn = "the router sits in the hall and the signal upstairs is weak, so what should I try next? " * 3
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"{i}: {turn}"} for i in range(20)]

    def ask(messages: list[dict[str, str]]) -> None:
        body = {"model": "gpt-4o-mini", "messages": messages}
        response = httpx.post(f"{firewall.url}/v1/chat/completions", json=body, timeout=30)
        assert response.status_code == 200

    ask([*history, {"role": "user", "content": "and the first step?"}])  # 5 KB, all new
    first, where[:] = list(where), []
    ask([*history, {"role": "user", "content": "mail the steps to kim.lo@example.com"}])  # only the question is new
    second, where[:] = list(where), []
    ask([{"role": "user", "content": f"{i}: {turn} {turn}"} for i in range(70)])  # over 16 KB: the thread walks it
    third = list(where)

    assert first and all(name.startswith("helix-pii") for name in first), first
    assert second == ["event loop"]
    assert third and all(name.startswith("helix-pii") for name in third), third
    sent = fake.calls("/v1/chat/completions")[1].body["messages"]
    assert sent[-1]["content"] == "mail the steps to <EMAIL_ADDRESS_1>" and sent[:-1] == history


@pytest.mark.usefixtures("spacy_model")
def test_names_are_caught_with_a_spacy_model(tmp_path: Path, upstream, fake: FakeState) -> None:
    helix = start_helix(tmp_path, upstream[0].url, f'[pii]\nspacy_model = "{SPACY_MODEL}"\n')
    try:
        assert helix.gateway.pii.mode.startswith("ner")
        names = [(p, v["value"]) for p in PROMPTS for v in p["planted"] if v["entity"] in NER_ENTITIES]
        for prompt in {p["text"] for p, _ in names}:
            chat(helix, prompt)
        seen = "\n".join(s for r in fake.requests for s in strings(r.body))
        caught = sum(1 for _, value in names if value not in seen)
        print(f"\nNER caught {caught}/{len(names)} names and places")
        assert caught / len(names) >= 0.85
    finally:
        helix.server.stop()


def test_pii_cli_test_and_incidents(firewall: Helix, fake: FakeState) -> None:
    import os

    from tests.test_cli import helix_cmd

    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIX_")}
    env.update(HELIX_STORAGE__PATH=str(firewall.db_path), COLUMNS="200")
    result = helix_cmd("pii", "test", "Mail kim@example.com the key sk-proj-abcdefghijklmnopqrstuvwx0123", env=env)
    assert result.returncode == 0, result.stderr
    assert "mode: pattern-only" in result.stdout and "EMAIL_ADDRESS" in result.stdout and "API_KEY" in result.stdout
    assert "Mail <EMAIL_ADDRESS> the key <API_KEY>" in result.stdout
    assert not fake.requests  # nothing was sent
    # the spaCy model `serve` would load, wherever it is found (it read only [pii] spacy_model, never the variable)
    named = helix_cmd("pii", "test", "Call John Smith", env={**env, "HELIX_SPACY_MODEL_PATH": str(SPACY_MODEL)})
    assert named.returncode == 0 and "Call <PERSON>" in named.stdout, named.stdout + named.stderr

    chat(firewall, "Ping 198.51.100.23 and mail kim@example.com")
    firewall.flush()
    incidents = helix_cmd("pii", "incidents", "--since", "1h", env=env)
    assert incidents.returncode == 0, incidents.stderr
    assert "IP_ADDRESS" in incidents.stdout and "EMAIL_ADDRESS" in incidents.stdout
    assert "pseudonymize" in incidents.stdout
    assert "kim@example.com" not in incidents.stdout and "198.51.100.23" not in incidents.stdout
