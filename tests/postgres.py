"""A PostgreSQL schema of its own for each test that needs the shared backend.

The server is the one at HELIX_TEST_PG (default: 127.0.0.1:5432, user postgres, trust auth, database
`test`, as on CI and these machines). Each test gets a fresh schema, reached through the URL's
`search_path`, and drops it at the end. An unreachable server fails the test with a message saying how to
point at one, or skips it with HELIX_SKIP_PG_TESTS=1.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
