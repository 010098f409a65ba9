"""A PostgreSQL schema of its own for each test that needs the shared backend.

The server is the one at HELIX_TEST_PG (default: 127.0.0.1:5432, user postgres, trust auth, database
`test`, as on CI and these machines). Each test gets a fresh schema, reached through the URL's
`search_path`, and drops it at the end. An unreachable server fails the test with a message saying how to
point at one, or skips it with HELIX_SKIP_PG_TESTS=1.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import pytest

from helix.dburl import PostgresUrl

SERVER = os.environ.get("HELIX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SKIP = os.environ.get("HELIX_SKIP_PG_TESTS") == "1"


def _admin() -> object:
    import psycopg

    try:
        return psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = (
            f"PostgreSQL is not reachable at {SERVER} ({str(exc).strip().splitlines()[0]}): start one (trust auth, "
            "database 'test'), point HELIX_TEST_PG at one, or set HELIX_SKIP_PG_TESTS=1 to skip these tests"
        )
        if SKIP:
            pytest.skip(message)
        pytest.fail(message)


@contextmanager
def schema() -> Iterator[PostgresUrl]:
    """A URL whose connections see only a new, empty schema, dropped afterwards."""
    admin = _admin()
    name = f"helix_test_{secrets.token_hex(4)}"
    admin.execute(f"CREATE SCHEMA {name}")  # type: ignore[attr-defined]
    separator = "&" if "?" in SERVER else "?"
    try:
        yield PostgresUrl(f"{SERVER}{separator}options={quote(f'-csearch_path={name}')}")
    finally:
        admin.execute(f"DROP SCHEMA {name} CASCADE")  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]


def named(url: PostgresUrl, name: str) -> PostgresUrl:
    """`url` with an application name, so a test can find its own sessions (and no other test's)."""
    return PostgresUrl(f"{url}{'&' if '?' in url else '?'}application_name={name}")


def terminate(name: str) -> int:
    """Kill every session named `name`, as a restart does, and wait until they are gone; how many there were."""
    admin = _admin()
    try:
        pids = [
            row[0]
            for row in admin.execute(  # type: ignore[attr-defined]
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        ]
        gone_by = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()[0]:  # type: ignore[attr-defined]
            assert time.monotonic() < gone_by, f"sessions {pids} outlived pg_terminate_backend"
            time.sleep(0.02)
        return len(pids)
    finally:
        admin.close()  # type: ignore[attr-defined]


POSTGRES_BIN = Path(os.environ.get("HELIX_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class Cluster:
    """A throwaway PostgreSQL server of a test's own (`own_cluster`), that the test may restart."""

    def __init__(self, home: Path, port: int, as_postgres: list[str]) -> None:
        self._home, self._as_postgres = home, as_postgres
        self.url = PostgresUrl(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        self._options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"

    def pg_ctl(self, *args: str) -> None:
        command = [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self._home / "data"), "-l", str(self._home / "log"), *args]
        subprocess.run([*self._as_postgres, *command], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.pg_ctl("-o", self._options, "-w", "start")

    def restart(self, mode: str) -> None:
        """`pg_ctl restart -m fast` (sessions told, then closed) or `-m immediate` (a crash: recovery at start);
        back when it takes connections again."""
        self.pg_ctl("-o", self._options, "-m", mode, "-w", "restart")

    def log(self) -> str:
        return (self._home / "log").read_text(errors="replace")


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A new PostgreSQL cluster in a temporary directory, on a free port, stopped (`-m immediate`) and deleted
    at the end whatever happened. Skips the test when PostgreSQL's programs (initdb, pg_ctl) are not there.
    As root, they run as the `postgres` user (PostgreSQL refuses to run as root)."""
    if not (POSTGRES_BIN / "initdb").exists():
        pytest.skip(f"no initdb in {POSTGRES_BIN} (set HELIX_TEST_PG_BIN to PostgreSQL's bin directory)")
    as_postgres: list[str] = []
    home = Path(tempfile.mkdtemp(prefix="helix-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(home)
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
        os.chown(home, owner.pw_uid, owner.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = Cluster(home, port, as_postgres)
    try:
        initdb = [str(POSTGRES_BIN / "initdb"), "-D", str(home / "data"), "-U", "postgres", "--auth=trust", "--no-sync"]
        subprocess.run([*as_postgres, *initdb], check=True, capture_output=True, timeout=120)
        cluster.start()
        yield cluster
    finally:
        with suppress(subprocess.SubprocessError):
            cluster.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)
