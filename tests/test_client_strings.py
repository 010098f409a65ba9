"""Client-chosen strings are bounded and cannot forge log lines."""

from __future__ import annotations

import logging

import httpx
import pytest

from helix.call import Usage
from helix.logs import FORMAT, EscapingFormatter
from helix.pricing import NAMES_REMEMBERED, PriceBook
from tests.conftest import Helix


@pytest.mark.parametrize("model", ["m" * 10_000, "gpt-4o\r\n2026-01-01 ERROR helix: forged", "a\x00b"])
def test_overlong_or_control_character_model_names_are_a_400(helix: Helix, model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "model"
    assert len(response.text) < 1000  # the name is not echoed back whole
    (row,) = helix.rows("SELECT status, model_requested FROM requests")
    assert row["status"] == 400 and row["model_requested"] is None


def test_many_unpriced_names_are_remembered_up_to_a_bound(caplog: pytest.LogCaptureFixture) -> None:
    book = PriceBook()
    usage = Usage(prompt_tokens=1, completion_tokens=1, cached_tokens=0)
    with caplog.at_level(logging.WARNING, "helix.pricing"):
        for i in range(NAMES_REMEMBERED * 2):
            assert book.cost("openai", f"unpriced-{i}", usage) is None
        book.cost("openai", f"unpriced-{NAMES_REMEMBERED * 2 - 1}", usage)  # recent: not warned again
    assert book.price.cache_info().currsize == NAMES_REMEMBERED
    assert len(caplog.records) == NAMES_REMEMBERED * 2


def test_control_characters_in_a_log_message_are_escaped() -> None:
    record = logging.LogRecord("helix", logging.WARNING, __file__, 1, "no price for %s", ("a\r\nFORGED LINE",), None)
    line = EscapingFormatter(FORMAT).format(record)
    assert "\n" not in line and "\r" not in line
    assert line.endswith("no price for a\\x0d\\x0aFORGED LINE")
