"""The `helix` command for real: a `helix serve` process, then logs/spend/doctor/init on its file."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import isolated_env, serve_process, wait_until_healthy
from tests.fake_upstream import FakeState, ServerThread


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def helix_cmd(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helix", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> dict[str, str]:
    return isolated_env(tmp_path / "home", upstream[0].url, COLUMNS="200")


@pytest.fixture
def served(cli_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = serve_process(cli_env, tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0]
        assert process.returncode == 0, output
        assert f"{url}/v1" in output
        assert "pii       on, " in output  # the banner says whether names are covered


def test_serve_then_logs_and_spend_read_the_same_file(served: str, cli_env: dict[str, str], fake: FakeState) -> None:
    client = openai.OpenAI(base_url=f"{served}/v1", api_key="x", max_retries=0)
    for i in range(3):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}], user="alice"
        )
    list(client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "s"}], stream=True))
    time.sleep(0.5)  # the single writer commits within milliseconds; give it a beat
    logs = helix_cmd("logs", "-n", "10", env=cli_env)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.count("openai/gpt-4o-mini") == 3 and "openai/gpt-4o ~" in logs.stdout
    by_model = helix_cmd("spend", "--by", "model", env=cli_env)
    assert "openai/gpt-4o-mini" in by_model.stdout and "total" in by_model.stdout
    by_user = helix_cmd("spend", "--by", "user", "--since", "1h", env=cli_env)
    alice = helix_cmd("pii", "user-id", "alice", env=cli_env).stdout.strip()
    assert alice.startswith("u_") and len(alice) == 18
    assert alice in by_user.stdout and "alice" not in by_user.stdout  # stored as a keyed hash, still grouped


def test_logs_and_spend_work_with_no_server(cli_env: dict[str, str]) -> None:
    assert "no requests logged yet" in helix_cmd("logs", env=cli_env).stdout
    assert "no requests" in helix_cmd("spend", "--by", "day", env=cli_env).stdout
    bad = helix_cmd("spend", "--since", "soon", env=cli_env)
    assert bad.returncode != 0 and "not a duration" in bad.stderr


@pytest.mark.parametrize("command", [["logs"], ["spend"], ["pii", "incidents"], ["cache", "stats"]])
def test_reading_a_mistyped_db_path_says_so_and_makes_no_file(
    tmp_path: Path, cli_env: dict[str, str], command: list[str]
) -> None:
    """A mistyped --db made an empty database there, and the command reported nothing logged (a helper's find)."""
    missing = tmp_path / "helxi.db"
    result = helix_cmd(*command, "--db", str(missing), env=cli_env)
    assert result.returncode == 1 and f"no Helix database at {missing}" in result.stderr
    assert not missing.exists()


def test_doctor_looks_at_the_database_without_making_one(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """A doctor changes nothing: it made an empty database at a mistyped --db, and at the default path."""
    missing = tmp_path / "helxi.db"
    mistyped = helix_cmd("doctor", "--db", str(missing), env=cli_env)
    assert mistyped.returncode == 1 and f"database: no Helix database at {missing}: check --db" in mistyped.stdout
    assert "sqlite-vec: v0.1" in mistyped.stdout and not missing.exists()
    first_run = helix_cmd("doctor", env=cli_env)
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    assert "not created yet: `helix serve` creates it" in first_run.stdout and "sqlite-vec: v0.1" in first_run.stdout
    assert not list(Path(cli_env["HELIX_HOME"]).rglob("*.db"))


def test_init_writes_a_valid_config_and_doctor_reads_it(tmp_path: Path, cli_env: dict[str, str]) -> None:
    target = tmp_path / "helix.toml"
    assert helix_cmd("init", "--path", str(target), env=cli_env).returncode == 0
    assert "[providers.openai]" in target.read_text()
    again = helix_cmd("init", "--path", str(target), env=cli_env)
    assert again.returncode == 1 and "--force" in again.stderr
    doctor = helix_cmd("doctor", "--config", str(target), env=cli_env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "sqlite-vec: v0.1" in doctor.stdout and "usable: openai" in doctor.stdout
    assert "Hyperscan prescreen" in doctor.stdout and "slower" not in doctor.stdout
    for where in (tmp_path / "no-such-folder" / "helix.toml", tmp_path):  # each was a traceback
        wrong = helix_cmd("init", "--path", str(where), "--force", env=cli_env)
        assert wrong.returncode == 1 and "cannot write" in wrong.stderr and "Traceback" not in wrong.stderr


@pytest.mark.parametrize(
    "command", [["logs", "-n"], ["spend", "--top"], ["pii", "incidents", "-n"], ["cache", "search", "x", "-n"]]
)
def test_a_row_count_out_of_range_is_a_usage_error(cli_env: dict[str, str], command: list[str]) -> None:
    """A count past what SQLite binds was an OverflowError's traceback; 0 or less listed everything, or one row."""
    for count in ("99999999999999999999", "0", "-1"):
        result = helix_cmd(*command, count, env=cli_env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_bad_config_fails_fast_with_one_line(tmp_path: Path, cli_env: dict[str, str]) -> None:
    target = tmp_path / "bad.toml"
    target.write_text("[server]\nprot = 4000\n")
    result = helix_cmd("serve", "--config", str(target), env=cli_env)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "error: unknown config key 'server.prot': check the spelling against "
        "helix.example.toml"
    )


def test_reload_that_reaches_no_server_says_where_the_address_came_from(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """Its address is the file's: a port changed in the file (a restart's change) sent it to no server."""
    target = tmp_path / "moved.toml"
    target.write_text(f"[server]\nport = {free_port()}\n")
    result = helix_cmd("reload", "--config", str(target), env=cli_env)
    assert result.returncode == 1 and "pass --url" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
