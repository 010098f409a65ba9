"""What the CLI prints for people and for scripts: `--json` with stable field names, whole tables in a pipe,
key names instead of ids, `[pricing]` shown as written, and help that names values instead of types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Helix, add_key, isolated_env
from tests.test_cli import helix_cmd


def ask(helix: Helix, key: str, text: str, model: str = "gpt-4o-mini") -> None:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    response = httpx.post(
        f"{helix.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def logged(helix: Helix, tmp_path: Path) -> tuple[Helix, dict[str, str]]:
    """Three requests under key 'app': one with an e-mail address in it, one to a model with no known price (so no
    budget: a budgeted key may not use such a model)."""
    secret = add_key(helix, "app", rpm=500)
    ask(helix, secret, "What is the capital of France?")
    ask(helix, secret, "Write to bob.smith@example.com about the invoice")
    ask(helix, secret, "Hello", model="no-price-model")
    helix.flush()
    env = isolated_env(tmp_path / "cli-home", "http://127.0.0.1:9")  # never contacted: these commands read the file
    env.pop("COLUMNS", None)
    return helix, env


def run(logged: tuple[Helix, dict[str, str]], *args: str) -> str:
    helix, env = logged
    result = helix_cmd(*args, "--db", str(helix.db_path), env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_output_has_stable_field_names(logged: tuple[Helix, dict[str, str]]) -> None:
    lines = [json.loads(line) for line in run(logged, "logs", "--json").splitlines()]
    assert len(lines) == 3 and all(line["key_name"] == "app" and line["status"] == 200 for line in lines)
    assert lines[0]["stream"] is False and lines[0]["user"] is None and lines[0]["cost_usd"] is not None
    assert {"id", "ts", "model_requested", "provider", "model", "latency_ms", "prompt_tokens"} <= set(lines[0])

    spend = json.loads(run(logged, "spend", "--by", "key", "--json"))
    assert spend["by"] == "key" and spend["data"][0]["key_name"] == "app" and spend["data"][0]["requests"] == 3
    assert spend["total"]["requests"] == 3 and spend["data"][0]["unpriced_requests"] == 1
    top = json.loads(run(logged, "spend", "--by", "model", "--top", "1", "--json"))
    assert len(top["data"]) == 1 and top["total"]["requests"] == 3  # the window's, not the shown group's alone

    (key,) = json.loads(run(logged, "keys", "list", "--json"))
    assert key["name"] == "app" and key["budget_usd"] is None and key["rpm"] == 500 and key["requests"] == 3
    assert "hash" not in key

    stats: dict[str, Any] = json.loads(run(logged, "cache", "stats", "--json"))
    assert stats["requests"] == 3 and stats["misses"] == 3 and stats["bounds"]["max_entries"] > 0

    incidents = json.loads(run(logged, "pii", "incidents", "--json"))
    (found,) = [row for row in incidents["data"] if row["entity_type"] == "EMAIL_ADDRESS"]
    assert found["key_name"] == "app" and found["count"] == 1
    assert "bob.smith" not in json.dumps(incidents)  # types and counts, never values


def test_tables_in_a_pipe_are_whole_and_name_keys(logged: tuple[Helix, dict[str, str]]) -> None:
    helix, _ = logged
    table = run(logged, "logs")
    request_ids = [row["id"] for row in helix.rows("SELECT id FROM requests")]
    assert all(request_id in table for request_id in request_ids)  # not cut at 80 columns
    assert max(len(line) for line in table.splitlines()) > 80 and "…" not in table
    key_id = helix.rows("SELECT id FROM keys")[0]["id"]
    for shown in (table, run(logged, "pii", "incidents")):
        assert " app " in shown and key_id not in shown  # the key by its name


def test_spend_shows_the_pricing_section_by_its_name(logged: tuple[Helix, dict[str, str]]) -> None:
    assert "add [pricing] entries to count them" in run(logged, "spend")


@pytest.mark.parametrize("command", [("keys", "add"), ("keys", "update"), ("spend",), ("logs",), ("cache", "stats")])
def test_help_names_values_not_types(logged: tuple[Helix, dict[str, str]], command: tuple[str, ...]) -> None:
    _, env = logged
    shown = helix_cmd(*command, "--help", env={**env, "COLUMNS": "160"}).stdout
    assert "--help" in shown
    for typed in ("<bool>", "<str>", "<int>", "<float>", "<path>"):
        assert typed not in shown, f"{typed} in the help of {' '.join(command)}"
