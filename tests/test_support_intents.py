"""The labelled support set that measures the semantic cache: its test split is frozen and kept apart.

`support_intents.jsonl` holds intents (several ways users type one question) grouped in families of
confusable near-misses. Splits are by family, so no test question or its near-misses is seen in training.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

DATA = Path(__file__).parent / "data" / "support_intents.jsonl"
FROZEN_TEST_SHA256 = "e696834c16b793aaa68ed97b76958364fee76b607a4dff56e863059b85678a5f"


def _rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in DATA.read_text().splitlines()]


def test_test_split_is_frozen() -> None:
    lines = [line + "\n" for line in DATA.read_text().splitlines() if json.loads(line)["split"] == "test"]
    assert hashlib.sha256("".join(lines).encode()).hexdigest() == FROZEN_TEST_SHA256


def test_splits_are_by_family() -> None:
    split_of: dict[object, set[object]] = {}
    for row in _rows():
        split_of.setdefault(row["family"], set()).add(row["split"])
    assert all(len(splits) == 1 for splits in split_of.values())
    assert {s for splits in split_of.values() for s in splits} == {"train", "dev", "test"}


def test_every_text_is_unique_and_intents_have_paraphrases() -> None:
    rows = _rows()
    texts = Counter(str(t).lower() for row in rows for t in row["texts"])  # type: ignore[attr-defined]
    assert [t for t, n in texts.items() if n > 1] == []
    assert all(len(row["texts"]) >= 4 for row in rows)  # type: ignore[arg-type]
    assert len({row["intent"] for row in rows}) == len(rows)
