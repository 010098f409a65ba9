"""`helix cache stats | search | clear` on the file a running server uses."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from helix.cache import entries
from helix.store.db import connect
from helix.store.queries import CACHE_RESULT_EXPR
from tests.conftest import EMBEDDING_MODEL, Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread
from tests.test_cache import ask, semantic  # noqa: F401 - the fixture
from tests.test_cli import helix_cmd


def cli_env(helix: Helix) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIX_")}
    return {
        **env,
        "HELIX_STORAGE__PATH": str(helix.db_path),
        "HELIX_CACHE__EMBEDDING_MODEL_PATH": str(EMBEDDING_MODEL),
        "COLUMNS": "200",
    }


def test_stats_search_and_clear(semantic: Helix, fake: FakeState) -> None:  # noqa: F811
    ask(semantic, "How do I reset my password?")
    ask(semantic, "How do I reset my password?")
    ask(semantic, "How do I turn on dark mode?")
    env = cli_env(semantic)

    stats = helix_cmd("cache", "stats", env=env)
    assert stats.returncode == 0, stats.stderr
    assert "2 (2 with embeddings)" in stats.stdout
    assert "exact hits" in stats.stdout and "1 (33.3%)" in stats.stdout

    search = helix_cmd("cache", "search", "I forgot my password, how can I reset it?", env=env)
    assert search.returncode == 0, search.stderr
    lines = [line for line in search.stdout.splitlines() if "gpt-4o-mini" in line]
    assert "yes" in lines[0] and "reset my password" in lines[0]
    assert "no" in lines[1] and "dark mode" in lines[1] and "similarity below" in lines[1]
    assert "judge" in search.stdout  # the model's score column

    near = helix_cmd("cache", "search", "How do I turn off dark mode?", env=env)
    dark = next(line for line in near.stdout.splitlines() if "gpt-4o-mini" in line and "dark mode" in line)
    assert "no (opposites: 'on' vs 'off')" in dark  # similar enough, refused by the fact it disagrees on

    sibling = helix_cmd("cache", "search", "How do I change my password?", env=env)
    reset = next(line for line in sibling.stdout.splitlines() if "gpt-4o-mini" in line and "password" in line)
    assert "no" in reset and "judge:" in reset  # no fact against it, refused by the model, with its score

    cleared = helix_cmd("cache", "clear", "--model", "gpt-4o-mini", env=env)
    assert cleared.stdout.strip() == "deleted 2 cache entries"
    time.sleep(1.0)  # the server polls the clear generation twice a second
    assert ask(semantic, "How do I reset my password?").headers["x-helix-cache"] == "MISS"


def test_clear_older_than_keeps_recent_entries(helix: Helix, fake: FakeState) -> None:
    ask(helix, "recent")
    env = cli_env(helix)
    assert helix_cmd("cache", "clear", "--older-than", "1h", env=env).stdout.strip() == "deleted 0 cache entries"
    bad = helix_cmd("cache", "clear", "--older-than", "ages", env=env)
    assert bad.returncode == 1 and "not a duration" in bad.stderr


def test_clear_older_than_takes_the_wordings_kept_for_the_answers_it_clears(semantic: Helix, fake: FakeState) -> None:  # noqa: F811
    """A wording kept after the cut-off, for an answer from before it, outlived the clear and went on serving the old
    answer (faults round 21)."""
    first, reworded = "How do I reset my password?", "I forgot my password, how can I reset it?"
    ask(semantic, first)
    time.sleep(2.5)
    assert ask(semantic, reworded).headers["x-helix-cache"] == "HIT-SEMANTIC"
    cleared = helix_cmd("cache", "clear", "--older-than", "2s", env=cli_env(semantic))
    assert cleared.stdout.strip() == "deleted 2 cache entries", cleared.stderr
    time.sleep(1.0)  # the server polls the clear generation twice a second
    assert ask(semantic, reworded).headers["x-helix-cache"] == "MISS"


ADMIN = {"authorization": "Bearer admin-secret-123"}


def test_clear_by_an_alias_clears_what_its_deployments_wrote(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    """`--model ALIAS` deleted nothing (entries are stored as the deployment that wrote them) and the alias went on
    being answered from the cache (faults round 17); the admin API's clear, the same (faults round 21)."""
    alias = '[models.smart]\ntarget = "openai/gpt-4o-mini"\nfallbacks = ["quick"]\n'
    alias += '[models.quick]\ntarget = "openai/o3"\n[auth]\nadmin_key = "admin-secret-123"\n'
    helix = start_helix(tmp_path, upstream[0].url, alias)
    try:
        ask(helix, "cleared by its alias", model="smart")
        ask(helix, "kept", model="openai/gpt-4o")
        helix.flush()
        env = cli_env(helix)
        cleared = helix_cmd("cache", "clear", "--model", "smart", "--config", str(tmp_path / "helix.toml"), env=env)
        assert cleared.stdout.strip() == "deleted 1 cache entry", cleared.stderr
        assert ask(helix, "cleared by its alias", model="smart").headers["x-helix-cache"] == "MISS"
        assert ask(helix, "kept", model="openai/gpt-4o").headers["x-helix-cache"] == "HIT-EXACT"
        again = "cleared by its alias through the admin API"
        ask(helix, again, model="smart")
        cleared = httpx.post(f"{helix.url}/admin/cache/clear", json={"model": "smart"}, headers=ADMIN, timeout=10)
        assert cleared.status_code == 200 and cleared.json()["deleted"] == 2, cleared.text  # both of smart's answers
        assert ask(helix, again, model="smart").headers["x-helix-cache"] == "MISS"
        assert ask(helix, "kept", model="openai/gpt-4o").headers["x-helix-cache"] == "HIT-EXACT"
    finally:
        helix.server.stop()


def test_a_mistyped_db_is_an_error_not_a_new_database(helix: Helix, tmp_path: Path) -> None:
    """`helix keys list --db TYPO` said there were no keys (and made the file), `keys add` printed a key no server would
    take, `cache clear` cleared an empty new database (faults round 17)."""
    typo = tmp_path / "helxi.db"
    for command in (("keys", "list"), ("keys", "add", "ci"), ("cache", "clear")):
        result = helix_cmd(*command, "--db", str(typo), env=cli_env(helix))
        assert result.returncode == 1 and "no Helix database at" in result.stderr, command
    assert not typo.exists()


def test_search_shows_a_kept_wording_s_question_and_the_facts_held_against_it(semantic: Helix, fake: FakeState) -> None:  # noqa: F811
    ask(semantic, "What is the fee for sending an international wire transfer?")
    assert ask(semantic, "international wire fee").headers["x-helix-cache"] == "HIT-SEMANTIC"
    semantic.flush()
    search = helix_cmd(
        "cache", "search", "What is the fee for receiving an international wire transfer?", env=cli_env(semantic)
    )
    assert search.returncode == 0, search.stderr
    assert "kept for: What is the fee for sending" in search.stdout
    assert "against the question it answered" in search.stdout


def test_search_without_a_model_fails_in_one_line(helix: Helix, tmp_path) -> None:
    env = {**cli_env(helix), "HELIX_CACHE__EMBEDDING_MODEL_PATH": str(tmp_path / "nope"), "HF_HUB_OFFLINE": "1"}
    result = helix_cmd("cache", "search", "anything", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and "embedding_model_path" in result.stderr


pytestmark = pytest.mark.usefixtures("embedding_model")


def test_cache_stats_count_each_request_as_the_dashboard_does(tmp_path: Path) -> None:
    """With the cache off a request has no cache column: the dashboard counted it as bypassed, `cache stats` nowhere
    (nor a request refused before the cache), so its rows did not add up to its request count."""
    conn = connect(tmp_path / "helix.db")
    rows = [("HIT-EXACT", 200), ("MISS", 200), ("BYPASS", 200), (None, 200), (None, 401), (None, 429)]
    for i, (cache, status) in enumerate(rows):
        conn.execute(
            "INSERT INTO requests (id, ts, endpoint, status, cache) VALUES (?, ?, 'chat', ?, ?)",
            (f"r{i}", time.time(), status, cache),
        )
    numbers = entries.stats(conn, 0)
    assert (numbers["requests"], numbers["exact_hits"], numbers["misses"]) == (6, 1, 1)
    assert (numbers["bypassed"], numbers["rejected"]) == (2, 2)
    by_result = dict(conn.execute(f"SELECT {CACHE_RESULT_EXPR}, count(*) FROM requests GROUP BY 1").fetchall())
    assert by_result == {"exact": 1, "miss": 1, "bypass": 2, "rejected": 2}
