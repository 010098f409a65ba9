"""The SQLite-to-PostgreSQL rewrites the shared backend relies on (helix/store/dialect.py)."""

from __future__ import annotations

import pytest

from helix.dburl import PostgresUrl, parse_location
from helix.store.dialect import postgres, schema


@pytest.mark.parametrize(
    ("sqlite", "expected"),
    [
        ("SELECT a FROM t WHERE b = ? AND c IS ? AND d IS NOT ?",
         "SELECT a FROM t WHERE b = %s AND c IS NOT DISTINCT FROM %s AND d IS DISTINCT FROM %s"),
        ("SELECT user FROM r WHERE r.user = ? AND x = 'user %'",
         "SELECT \"user\" FROM r WHERE r.user = %s AND x = 'user %%'"),
        ("INSERT OR IGNORE INTO t (a) VALUES (?)", "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING"),
        ("BEGIN IMMEDIATE", "BEGIN"),
        ("SELECT CAST((ts - ?) / ? AS INTEGER), CAST(x AS TEXT)",
         "SELECT CAST(trunc((ts - %s) / %s) AS BIGINT), CAST(x AS TEXT)"),
        ('SELECT "user", \'?\' FROM t', 'SELECT "user", \'?\' FROM t'),
    ],
)  # fmt: skip
def test_queries_are_rewritten_outside_literals(sqlite: str, expected: str) -> None:
    assert postgres(sqlite) == expected


def test_schema_maps_column_types() -> None:
    ddl = schema("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, r REAL, n INTEGER NOT NULL)")
    assert ddl == "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, b BYTEA, r DOUBLE PRECISION, n BIGINT NOT NULL)"


def test_locations() -> None:
    assert str(parse_location("sqlite:///var/lib/helix/helix.db")) == "/var/lib/helix/helix.db"
    url = parse_location("postgresql://helix:secret@db/helix")
    assert isinstance(url, PostgresUrl) and url.redacted() == "postgresql://helix:***@db/helix"
    with pytest.raises(ValueError, match="unsupported database URL"):
        parse_location("mysql://x/y")
