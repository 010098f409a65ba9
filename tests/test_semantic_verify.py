"""Semantic-cache verification: the verifier on known near-miss families and paraphrases (no model),
the embedder, and precision/recall of the full decision on the held-out split (real model)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helix.cache.embedder import Embedder, EmbedderUnavailable
from helix.cache.verify import DEFAULT_THRESHOLD, Verdict, verify

os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "semantic_pairs.jsonl"
SHARED_MODELS = Path(os.environ.get("HELIX_SHARED_MODELS", REPO.parent / "shared" / "models"))
MODEL_PATH = Path(os.environ.get("HELIX_EMBEDDING_MODEL_PATH", SHARED_MODELS / "all-MiniLM-L6-v2-onnx"))
HIGH = 0.97  # a similarity above any sane threshold: only the verifier can reject

NEAR_MISSES = [
    # negation / polarity
    ("Can I return an item that was opened?", "Can I return an item that was not opened?", "negation"),
    ("I received my order", "I didn't receive my order", "negation"),
    ("Which birds can fly?", "Which birds can't fly?", "negation"),
    ("How to run a container as root", "How to run a container as non-root", "negation"),
    ("Python: reverse a string with slicing", "Python: reverse a string without slicing", "negation"),
    # antonyms, curated and prefixed
    ("turn on dark mode", "turn off dark mode", "antonym"),
    ("Turn dark mode on", "Turn dark mode off", "antonym"),
    ("upgrade my plan", "downgrade my plan", "antonym"),
    ("How do I enable notifications?", "How do I disable notifications?", "antonym"),
    ("How do I add a user to my team?", "How do I remove a user from my team?", "antonym"),
    ("increase my credit limit", "decrease my credit limit", "antonym"),
    ("How to open a file in Python?", "How to close a file in Python?", "antonym"),
    ("How to start a Docker container?", "How to stop a Docker container?", "antonym"),
    ("Best time to buy a car", "Best time to sell a car", "antonym"),
    ("How to import a CSV into PostgreSQL?", "How to export a CSV into PostgreSQL?", "antonym"),
    ("encrypt a file with openssl", "decrypt a file with openssl", "antonym"),
    ("find the min value in a list", "find the max value in a list", "antonym"),
    ("What to eat before a workout", "What to eat after a workout", "antonym"),
    ("temperatures above freezing", "temperatures below freezing", "antonym"),
    ("How do I subscribe to the newsletter?", "How do I unsubscribe from the newsletter?", "antonym"),
    ("How do I log in?", "How do I log out?", "antonym"),
    ("make the text more formal", "make the text less formal", "antonym"),
    # numbers, written numbers, units
    ("convert 100 USD to EUR", "convert 200 USD to EUR", "number"),
    ("Can I return an item after 30 days?", "Can I return an item after sixty days?", "number"),
    ("What's the price for two seats?", "What's the price for three seats?", "number"),
    ("I was charged twice", "I was charged three times", "number"),
    ("What's new in Python 3.12?", "What's new in Python 3.1?", "number"),
    ("Where is my order #48213?", "Where is my order #48231?", "number"),
    ("allocate 4GB of memory", "allocate 8 GB of memory", "number"),
    ("How many people died in the first world war?", "How many people died in the second world war?", ""),
    ("Convert 10 MB to KB", "Convert 10 GB to KB", "unit"),
    # order
    ("convert 100 USD to EUR", "convert 100 EUR to USD", "order"),
    ("Translate 'thank you' from English to French", "Translate 'thank you' from French to English", "order"),
    ("Convert a list to a tuple", "Convert a tuple to a list", "order"),
    (
        "Switch from the annual plan to the monthly plan",
        "Switch from the monthly plan to the annual plan",
        "order",
    ),
    ("transfer money from savings to checking", "transfer money to savings from checking", "order"),
    ("Is Spanish harder than Portuguese?", "Is Portuguese harder than Spanish?", "order"),
    ("Merge main into my branch", "Merge my branch into main", "order"),
    ("What is 30 degrees Celsius in Fahrenheit?", "What is 30 degrees Fahrenheit in Celsius?", "order"),
    ("Replace tabs with spaces", "Replace spaces with tabs", "order"),
    ("I was charged $19.99 instead of $9.99", "I was charged $9.99 instead of $19.99", "order"),
    # entities, code, quoted strings, URLs
    ("How do I read a file in Python?", "How do I read a file in Rust?", "entity"),
    ("Install Docker on Ubuntu", "Install Docker on macOS", "entity"),
    ("Do you ship to Canada?", "Do you ship to Mexico?", "entity"),
    ("Best time to visit Iceland", "Best time to visit Ireland", "entity"),
    ("Who is Jonathan Davis?", "Who is Johnathan Davis?", "content"),
    ("How to parse a .yaml file", "How to parse a toml file", "entity"),
    ("What is the boiling point of ethanol?", "What is the boiling point of methanol?", "content"),
    ("How to use useEffect in React?", "How to use useState in React?", "content"),
    ("How to parse a .yaml file", "How to parse a .toml file", "entity"),
    ("What does `git rebase` do?", "What does `git reset` do?", "content"),
    ("What does x == y do?", "What does x === y do?", "code"),
    ("Fix 'undefined is not a function'", "Fix 'null is not a function'", "content"),
    ("Open https://example.com/a", "Open https://example.com/b", "code"),
    ("Email bob@example.com", "Email alice@example.com", "code"),
    ("What's your name?", "What's my name?", "person"),
    ("He gave her the book", "She gave him the book", "content"),
    # same topic, different question / added scope
    ("How do I change my password?", "How do I change my username?", "content"),
    ("How long does shipping take?", "How much does shipping cost?", ""),
    ("Who invented the light bulb?", "When was the light bulb invented?", "question"),
    ("What is git rebase?", "How do I git rebase?", "question"),
    ("Should I cancel my subscription?", "Can I cancel my subscription?", "question"),
    ("How to center a div?", "How to center a div vertically?", "content"),
    ("Can I return an item?", "Can I return a sale item?", "content"),
    ("Hi", "Hello"),
]

PARAPHRASES = [
    ("How do I reset my password?", "HOW DO I RESET MY PASSWORD"),
    ("where is my refund", "Where is my refund???"),
    ("Where's my order?", "where is my order"),
    ("hi there, could you please tell me how to cancel my order? thanks!", "How do I cancel my order?"),
    ("Can u help me cancel my subscription pls", "How do I cancel my subscription?"),
    ("how do i chnage my pasword", "How do I change my password?"),
    ("Can I recieve my order faster?", "Can I receive my order faster?"),
    ("Turn on dark mode", "How do I enable dark mode?"),
    ("Turn dark mode on", "Enable dark mode"),
    ("How do I turn off notifications?", "how to disable notifications"),
    ("How do I log out of all devices?", "how can i sign out from every device"),
    ("How do I enable two-factor authentication?", "how to turn on 2FA"),
    ("How many ounces are in a pound?", "how many oz in a lb"),
    ("Convert 100 USD to EUR", "convert $100 to EUR"),
    ("I was charged twice for my order", "I got charged two times for my order"),
    ("How do I merge two dictionaries in Python?", "python merge 2 dicts"),
    ("What is the difference between git pull and git fetch?", "git fetch vs git pull"),
    ("Is a tomato a fruit or a vegetable?", "is tomato a vegetable or fruit"),
    ("If I cancel today, will I get a refund?", "Will I get a refund if I cancel today?"),
    ("In Python, how do I check if a file exists?", "How do I check if a file exists in Python?"),
    ("How do I reverse a list in Python?", "python: how to reverse a list"),
    ("Can I get a refund?", "Is it possible to get my money back?"),
    ("Explain Python decorators", "What are decorators in Python?"),
    ("Does the plan include 5 users?", "Does the plan include five users?"),
    ("Where can I find my order number?", "where do I find the order number"),
    ("Can I pause my subscription?", "Is it possible to put my subscription on hold?"),
    ("How to parse a .yaml file in Python", "python: parse a yaml file"),
]


@pytest.mark.parametrize(("query", "candidate", "family"), [(*p, "") if len(p) == 2 else p for p in NEAR_MISSES])
def test_rejects_near_misses_even_at_high_similarity(query: str, candidate: str, family: str) -> None:
    for a, b in ((query, candidate), (candidate, query)):
        verdict = verify(a, b, HIGH, DEFAULT_THRESHOLD)
        assert not verdict.accepted, f"{a!r} / {b!r} accepted: {verdict.reason}"
        assert verdict.reason.startswith(family), verdict.reason


@pytest.mark.parametrize(("query", "candidate"), PARAPHRASES)
def test_accepts_paraphrases(query: str, candidate: str) -> None:
    for a, b in ((query, candidate), (candidate, query)):
        verdict = verify(a, b, HIGH, DEFAULT_THRESHOLD)
        assert verdict.accepted, f"{a!r} / {b!r} rejected: {verdict.reason}"


def test_identical_text_is_accepted() -> None:
    assert verify("What is the capital of France?", "What is the capital of France?", 1.0, DEFAULT_THRESHOLD).accepted


def test_below_threshold_is_rejected_whatever_the_text() -> None:
    verdict = verify("How do I reset my password?", "How do I reset my password?", 0.5, 0.7)
    assert verdict == Verdict(False, "similarity 0.500 below threshold 0.700")
    assert not verify("a b", "a b", float("nan"), 0.7).accepted


def test_threshold_defaults_and_bounds() -> None:
    assert 0.5 <= DEFAULT_THRESHOLD < 0.95
    assert verify("Where is my order?", "Can you tell me where my order is?", DEFAULT_THRESHOLD).accepted


def test_verdict_is_frozen() -> None:
    verdict = verify("a", "b", 0.1, 0.7)
    with pytest.raises(AttributeError):
        verdict.accepted = True  # type: ignore[misc]


def test_verifier_is_fast() -> None:
    pairs = [(q, c) for q, c, *_ in NEAR_MISSES] + PARAPHRASES
    texts = [f"{q} {i}" for i, (q, _) in enumerate(pairs)]  # defeat the per-text caches
    start = time.perf_counter()
    for text, (_, candidate) in zip(texts, pairs, strict=True):
        verify(text, candidate + " x", HIGH, DEFAULT_THRESHOLD)
    per_call = (time.perf_counter() - start) / len(pairs)
    assert per_call < 0.001, f"{per_call * 1000:.3f} ms per call"


# ----------------------------------------------------------------------------------- dataset


def load_pairs() -> list[dict[str, Any]]:
    with DATA.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_dataset_is_well_formed_and_stratified() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 360
    for p in pairs:
        assert set(p) == {"a", "b", "same", "domain", "kind", "split"}, p
        assert p["domain"] in {"support", "coding", "general"} and p["split"] in {"tune", "test"}
        assert isinstance(p["same"], bool) and p["a"].strip() and p["b"].strip()
    assert len({(p["a"].lower(), p["b"].lower()) for p in pairs}) == len(pairs)
    splits = Counter((p["split"], p["same"]) for p in pairs)
    for same in (True, False):
        assert abs(splits[("tune", same)] - splits[("test", same)]) <= 2
    assert 0.4 <= sum(p["same"] for p in pairs) / len(pairs) <= 0.6


# ------------------------------------------------------------------------------------ embedder


class _FakeModel:
    def embed(self, texts: list[str]) -> list[np.ndarray]:
        return [np.full(384, float(len(t) + 1), dtype=np.float32) for t in texts]


def test_embedder_loads_lazily_and_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []

    def slow_load(self: Embedder) -> _FakeModel:
        loads.append(1)
        time.sleep(0.05)
        return _FakeModel()

    monkeypatch.setattr(Embedder, "_load", slow_load)
    embedder = Embedder(model_path="/unused")
    assert not embedder.loaded and embedder.dim == 384 and not loads
    threads = [threading.Thread(target=embedder.embed_one, args=("hello",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    vectors = embedder.embed(["a", "bb"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.parametrize("path", ["/nonexistent/helix-model", str(REPO / "tests")])
def test_embedder_bad_path_fails_fast_with_a_clear_message(path: str) -> None:
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable) as info:
        Embedder(model_path=path).embed_one("hello")
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "embedding_model_path" in message and "\n" not in message


def test_embedder_broken_model_file_fails_fast(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not an onnx model")
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable, match="embedding_model_path"):
        Embedder(model_path=str(tmp_path)).embed(["hello"])
    assert time.monotonic() - start < 5


# --------------------------------------------------------------------------------- real model

needs_model = pytest.mark.skipif(
    not (MODEL_PATH / "model.onnx").is_file(),
    reason=f"embedding model not found at {MODEL_PATH} (set HELIX_EMBEDDING_MODEL_PATH)",
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(model_path=str(MODEL_PATH))


@needs_model
def test_real_embedder_vectors(embedder: Embedder) -> None:
    vectors = embedder.embed(["turn on dark mode", "turn off dark mode", "What is the capital of France?"])
    assert vectors.shape == (3, embedder.dim) == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.9 > float(vectors[0] @ vectors[2])


@needs_model
def test_precision_and_recall_on_held_out_split(embedder: Embedder) -> None:
    pairs = [p for p in load_pairs() if p["split"] == "test"]
    a = embedder.embed([p["a"] for p in pairs])
    b = embedder.embed([p["b"] for p in pairs])
    similarities = (a * b).sum(axis=1)
    tp = fp = fn = 0
    false_positives = []
    for p, similarity in zip(pairs, similarities, strict=True):
        hit = verify(p["a"], p["b"], float(similarity), DEFAULT_THRESHOLD).accepted
        tp += hit and p["same"]
        fn += not hit and p["same"]
        if hit and not p["same"]:
            fp += 1
            false_positives.append((p["a"], p["b"]))
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    assert precision >= 0.99, f"precision {precision:.3f}, false positives: {false_positives}"
    assert recall >= 0.5, f"recall {recall:.3f}"
