"""The prescreen's Hyperscan databases are compiled once a machine (`helix/pii/compiled.py`): loaded from Helix's cache
dir when built before, compiled again when the file is damaged, and compiled all the same where the cache cannot be
written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hyperscan
import pytest

from helix.pii import compiled

PATTERNS = ["order [0-9]+", "refund"]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    return tmp_path


def _counting(calls: list[int], patterns: list[str] = PATTERNS) -> Callable[[], Any]:
    def compile() -> Any:
        calls.append(1)
        database = hyperscan.Database()
        database.compile(expressions=[p.encode() for p in patterns], ids=list(range(len(patterns))))
        return database

    return compile


def _matched(database: Any, data: bytes) -> set[int]:
    found: set[int] = set()
    database.scan(data, match_event_handler=lambda pattern, *_: found.add(pattern), scratch=hyperscan.Scratch(database))
    return found


def _stored(home: Path) -> list[Path]:
    return sorted((home / "cache" / "hyperscan").glob("*.hsdb"))


def test_a_database_compiled_once_is_loaded_after(home: Path) -> None:
    calls: list[int] = []
    first = compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    second = compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    assert len(calls) == 1
    assert _matched(first, b"a refund for order 1234") == _matched(second, b"a refund for order 1234") == {0, 1}
    assert _matched(second, b"nothing here") == set()
    assert len(_stored(home)) == 1


def test_other_patterns_or_flags_make_another_database(home: Path) -> None:
    calls: list[int] = []
    compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    compiled.load_or_compile(hyperscan, ["refund", "order [0-9]+"], 0, _counting(calls, ["refund", "order [0-9]+"]))
    compiled.load_or_compile(hyperscan, PATTERNS, hyperscan.HS_FLAG_CASELESS, _counting(calls))
    assert len(calls) == 3
    assert len(_stored(home)) == 3


def test_a_damaged_file_is_compiled_again_and_replaced(home: Path) -> None:
    calls: list[int] = []
    compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    (path,) = _stored(home)
    path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk
    again = compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    assert len(calls) == 2
    assert _matched(again, b"order 7") == {0}
    compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    assert len(calls) == 2  # the replaced file loads


def test_a_cache_dir_that_cannot_be_written_costs_only_the_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("HELIX_HOME", str(blocker))
    calls: list[int] = []
    database = compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    assert _matched(database, b"refund") == {1}
    compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting(calls))
    assert len(calls) == 2


def test_only_the_newest_files_are_kept(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "KEPT_FILES", 2)
    calls: list[int] = []
    for words in (["alpha"], ["beta"], ["gamma"]):
        for path in _stored(home):  # the earlier ones made older, whatever the clock's resolution
            modified = path.stat().st_mtime - 10
            os.utime(path, (modified, modified))
        compiled.load_or_compile(hyperscan, words, 0, _counting(calls, words))
    assert len(_stored(home)) == 2
    compiled.load_or_compile(hyperscan, ["gamma"], 0, _counting(calls, ["gamma"]))
    compiled.load_or_compile(hyperscan, ["beta"], 0, _counting(calls, ["beta"]))
    assert len(calls) == 3  # the two newest loaded; alpha's went
    compiled.load_or_compile(hyperscan, ["alpha"], 0, _counting(calls, ["alpha"]))
    assert len(calls) == 4


def test_a_file_left_by_a_stopped_writer_is_removed_later(home: Path) -> None:
    folder = home / "cache" / "hyperscan"
    folder.mkdir(parents=True)
    left, writing = folder / "tmpold.tmp", folder / "tmpnew.tmp"
    left.write_bytes(b"x" * 100)
    writing.write_bytes(b"x" * 100)
    os.utime(left, (left.stat().st_mtime - 7200,) * 2)
    compiled.load_or_compile(hyperscan, PATTERNS, 0, _counting([]))
    assert not left.exists() and writing.exists()


def test_a_pii_engine_in_a_new_process_loads_its_prescreen_without_compiling(home: Path) -> None:
    """A second `helix serve` (or CLI command) starts without the compile: in the second process compiling fails
    loudly, and the engine still screens and finds what it finds."""
    script = textwrap.dedent(
        """
        import sys
        from helix.pii import prescreen
        from helix.pii.analyzer import PiiEngine
        from helix.pii.config import PiiConfig
        if sys.argv[1] == "second":
            def refuse(*_args):
                raise AssertionError("compiled again")
            prescreen._compiled = refuse
            prescreen._unread = refuse
        engine = PiiEngine(PiiConfig())
        print(engine.screened, [f.entity_type for f in engine.analyze("call 415-555-0100 or mail bob@example.com")])
        """
    )
    env = {**os.environ, "HELIX_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    for run in ("first", "second"):
        done = subprocess.run(
            [sys.executable, "-c", script, run], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "True ['PHONE_NUMBER', 'EMAIL_ADDRESS']"
    assert len(_stored(home)) == 2  # the text's database and the lowered view's
