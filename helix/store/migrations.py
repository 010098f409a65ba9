"""Named, ordered schema migrations, recorded in the database.

Append new migrations at the end with a new name; never edit one that has shipped. Each runs in its
own transaction together with the row that records it.

PostgreSQL runs the same migrations through `dialect.schema()`, after `0000_postgres_compat` (what its
queries need of SQLite's dialect); triggers, whose bodies differ, are the one thing written for each
backend (`POSTGRES_AFTER`, in place of the migration's `CREATE TRIGGER`s and `DROP TRIGGER`s; their
bodies are shared where they can be).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from helix.store.dialect import schema


# The budget rows a reservation holds against (its key's budget, its end user's): the request's log row
# charges its cost to them (SQLite's trigger; PostgreSQL's differs, below), the reservation's deletion
# releases its estimate (both backends' trigger). Migration 0012 kept both on `budget_spend`; 0014 moves
# them to `budget_settled`, so that the writer's transaction leaves the rows admissions take from alone.
def _charge_held(table: str) -> str:
    return f"""UPDATE {table} SET spent = spent + coalesce(NEW.cost_usd, 0)
    WHERE (subject, period_start) IN (
        SELECT key_subject, key_period_start FROM reservations WHERE id = NEW.id
        UNION ALL SELECT user_subject, user_period_start FROM reservations WHERE id = NEW.id
    )"""


def _release_held(change: str) -> str:
    return f"""UPDATE {change}
    WHERE (subject = OLD.key_subject AND period_start = OLD.key_period_start)
        OR (subject = OLD.user_subject AND period_start = OLD.user_period_start)"""


_CHARGE_SPEND = _charge_held("budget_spend")
_RELEASE_HOLD = _release_held("budget_spend SET reserved = reserved - OLD.cost_usd")
_RELEASE_SETTLED = _release_held("budget_settled SET released = released + OLD.cost_usd")


# Admission (0014): a reservation holding against a budget (its `key_limit` or `user_limit` given) takes its
# estimate from the budget's row only while spent + reserved leaves room for the prompt
# (`budget_spend.has_room`); the trigger skips the reservation when a budget has no room or no row yet.
def _held(side: str) -> str:
    return f"subject = NEW.{side}_subject AND period_start = NEW.{side}_period_start"


def _has_room(side: str) -> str:
    total = (
        "budget_spend.spent + budget_spend.reserved + (SELECT t.spent - t.released FROM budget_settled t"
        " WHERE t.subject = budget_spend.subject AND t.period_start = budget_spend.period_start)"
    )
    return f"{total} < NEW.{side}_limit AND {total} + NEW.prompt_cost_usd <= NEW.{side}_limit"


def _take(side: str) -> str:
    return f"UPDATE budget_spend SET reserved = reserved + NEW.cost_usd WHERE {_held(side)} AND {_has_room(side)}"


_BUDGETED = "NEW.key_limit IS NOT NULL OR NEW.user_limit IS NOT NULL"

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_request_log",
        """
        CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            ts REAL NOT NULL,
            endpoint TEXT NOT NULL,
            key_id TEXT,
            user TEXT,
            model_requested TEXT,
            provider TEXT,
            model TEXT,
            stream INTEGER NOT NULL DEFAULT 0,
            status INTEGER NOT NULL,
            error_code TEXT,
            cache TEXT,
            latency_ms REAL,
            overhead_ms REAL,
            ttft_ms REAL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cached_tokens INTEGER,
            cost_usd REAL,
            saved_usd REAL
        );
        CREATE INDEX requests_ts ON requests (ts);
        CREATE INDEX requests_key_ts ON requests (key_id, ts);
        """,
    ),
    (
        "0003_response_cache",
        """
        CREATE TABLE cache_entries (
            id INTEGER PRIMARY KEY,
            exact_key BLOB NOT NULL UNIQUE,
            partition_key BLOB NOT NULL,
            scope TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt TEXT NOT NULL,
            response BLOB NOT NULL,
            embedding BLOB,
            bits BLOB,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cost_usd REAL,
            size_bytes INTEGER NOT NULL,
            created REAL NOT NULL,
            expires REAL NOT NULL,
            last_used REAL NOT NULL,
            hits INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX cache_entries_partition ON cache_entries (partition_key);
        CREATE INDEX cache_entries_last_used ON cache_entries (last_used);
        CREATE INDEX cache_entries_expires ON cache_entries (expires);
        CREATE TABLE cache_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT INTO cache_generation (id, value) VALUES (1, 0);
        """,
    ),
    (
        "0002_virtual_keys",
        """
        CREATE TABLE keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL,
            revoked_at REAL,
            rotated_at REAL,
            last_used_at REAL,
            budget_usd REAL,
            budget_period TEXT NOT NULL DEFAULT 'total',
            user_budget_usd REAL,
            user_budget_period TEXT,
            rpm INTEGER,
            tpm INTEGER,
            models TEXT
        );
        CREATE UNIQUE INDEX keys_active_name ON keys (name) WHERE revoked_at IS NULL;
        CREATE TABLE keys_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
        INSERT INTO keys_version (id, version) VALUES (1, 0);
        CREATE TRIGGER keys_inserted AFTER INSERT ON keys
        BEGIN UPDATE keys_version SET version = version + 1; END;
        CREATE TRIGGER keys_deleted AFTER DELETE ON keys
        BEGIN UPDATE keys_version SET version = version + 1; END;
        CREATE TRIGGER keys_changed AFTER UPDATE OF
            name, hash, prefix, expires_at, revoked_at, budget_usd, budget_period, user_budget_usd,
            user_budget_period, rpm, tpm, models ON keys
        BEGIN UPDATE keys_version SET version = version + 1; END;
        CREATE TABLE budget_alerts (
            subject TEXT NOT NULL,
            period_start REAL NOT NULL,
            threshold INTEGER NOT NULL,
            ts REAL NOT NULL,
            spent_usd REAL NOT NULL,
            budget_usd REAL NOT NULL,
            delivered INTEGER,
            PRIMARY KEY (subject, period_start, threshold)
        );
        """,
    ),
    (
        "0004_pii_incidents",
        """
        CREATE TABLE pii_incidents (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            ts REAL NOT NULL,
            key_id TEXT,
            user TEXT,
            entity_type TEXT NOT NULL,
            count INTEGER NOT NULL,
            max_score REAL NOT NULL,
            action TEXT NOT NULL
        );
        CREATE INDEX pii_incidents_ts ON pii_incidents (ts);
        """,
    ),
    (
        "0005_dashboard_sessions",
        """
        CREATE TABLE dashboard_sessions (
            token_hash TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        );
        CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
        """,
    ),
    (
        "0006_request_helix_headers",
        """
        ALTER TABLE requests ADD COLUMN helix_headers TEXT;
        """,
    ),
    (
        "0007_write_failures",
        """
        CREATE TABLE write_failures (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            target TEXT NOT NULL,
            error TEXT NOT NULL,
            rows INTEGER NOT NULL
        );
        """,
    ),
    (
        "0008_reservations",
        """
        CREATE TABLE reservations (
            id TEXT PRIMARY KEY,
            ts REAL NOT NULL,
            pid INTEGER NOT NULL,
            endpoint TEXT NOT NULL,
            key_id TEXT,
            user TEXT,
            model_requested TEXT,
            provider TEXT,
            model TEXT,
            stream INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL
        );
        CREATE TRIGGER requests_settle_reservation AFTER INSERT ON requests
        BEGIN DELETE FROM reservations WHERE id = NEW.id; END;
        """,
    ),
    (
        "0009_instance_state",
        """
        CREATE TABLE instance_state (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        "0010_id_blocks",
        """
        CREATE TABLE id_blocks (name TEXT PRIMARY KEY, next INTEGER NOT NULL);
        INSERT INTO id_blocks (name, next) SELECT 'cache_entries', coalesce(max(id), 0) + 1 FROM cache_entries;
        """,
    ),
    (
        "0011_rate_buckets",
        """
        CREATE TABLE rate_buckets (subject TEXT PRIMARY KEY, level REAL NOT NULL, updated REAL NOT NULL);
        """,
    ),
    (
        "0012_budget_spend",
        f"""
        CREATE TABLE budget_spend (
            subject TEXT NOT NULL,
            period_start REAL NOT NULL,
            spent REAL NOT NULL,
            reserved REAL NOT NULL,
            PRIMARY KEY (subject, period_start)
        );
        ALTER TABLE reservations ADD COLUMN key_subject TEXT;
        ALTER TABLE reservations ADD COLUMN key_period_start REAL;
        ALTER TABLE reservations ADD COLUMN user_subject TEXT;
        ALTER TABLE reservations ADD COLUMN user_period_start REAL;
        DROP TRIGGER requests_settle_reservation;
        CREATE TRIGGER requests_settle_reservation AFTER INSERT ON requests
        BEGIN {_CHARGE_SPEND}; DELETE FROM reservations WHERE id = NEW.id; END;
        CREATE TRIGGER reservations_released AFTER DELETE ON reservations
        BEGIN {_RELEASE_HOLD}; END;
        """,
    ),
    (
        "0013_cache_entries_created",
        """
        CREATE INDEX cache_entries_created ON cache_entries (created);
        """,
    ),
    (
        "0014_budget_settled",
        f"""
        CREATE TABLE budget_settled (
            subject TEXT NOT NULL,
            period_start REAL NOT NULL,
            spent REAL NOT NULL,
            released REAL NOT NULL,
            PRIMARY KEY (subject, period_start)
        );
        INSERT INTO budget_settled (subject, period_start, spent, released)
            SELECT subject, period_start, 0, 0 FROM budget_spend;
        ALTER TABLE budget_spend ADD COLUMN period_end REAL;
        CREATE INDEX budget_spend_period_end ON budget_spend (period_end);
        ALTER TABLE reservations ADD COLUMN prompt_cost_usd REAL;
        ALTER TABLE reservations ADD COLUMN key_limit REAL;
        ALTER TABLE reservations ADD COLUMN user_limit REAL;
        DROP TRIGGER requests_settle_reservation;
        CREATE TRIGGER requests_settle_reservation AFTER INSERT ON requests
        BEGIN {_charge_held("budget_settled")}; DELETE FROM reservations WHERE id = NEW.id; END;
        DROP TRIGGER reservations_released;
        CREATE TRIGGER reservations_released AFTER DELETE ON reservations
        BEGIN {_RELEASE_SETTLED}; END;
        CREATE TRIGGER reservations_take BEFORE INSERT ON reservations WHEN {_BUDGETED}
        BEGIN
            SELECT RAISE(IGNORE) WHERE
                (NEW.key_limit IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM budget_spend WHERE {_held("key")} AND {_has_room("key")}))
                OR (NEW.user_limit IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM budget_spend WHERE {_held("user")} AND {_has_room("user")}));
            UPDATE budget_spend SET reserved = reserved + NEW.cost_usd
                WHERE (NEW.key_limit IS NOT NULL AND {_held("key")})
                    OR (NEW.user_limit IS NOT NULL AND {_held("user")});
        END;
        """,
    ),
    (
        # A kept wording's answer was written for another question: the facts must hold against that one too.
        "0015_cache_entries_origin",
        """
        ALTER TABLE cache_entries ADD COLUMN origin TEXT;
        """,
    ),
]

_COMPAT_FUNCTIONS = [
    "CREATE FUNCTION helix_sum_bool(bigint, boolean) RETURNS bigint LANGUAGE sql IMMUTABLE"
    " AS 'SELECT $1 + CASE WHEN $2 THEN 1 ELSE 0 END'",
    "CREATE AGGREGATE sum(boolean) (SFUNC = helix_sum_bool, STYPE = bigint, INITCOND = '0')",
    "CREATE FUNCTION helix_concat(text, text) RETURNS text LANGUAGE sql IMMUTABLE"
    " AS $$SELECT CASE WHEN $1 IS NULL THEN $2 WHEN $2 IS NULL THEN $1 ELSE $1 || ',' || $2 END$$",
    "CREATE AGGREGATE group_concat(text) (SFUNC = helix_concat, STYPE = text)",
    "CREATE FUNCTION date(ts double precision, unit text, zone text) RETURNS text LANGUAGE sql STABLE"
    " AS $$SELECT to_char(to_timestamp(ts), 'YYYY-MM-DD')$$",
    "CREATE FUNCTION strftime(fmt text, ts double precision, unit text, zone text) RETURNS text LANGUAGE sql STABLE"
    " AS $$SELECT to_char(to_timestamp(ts), replace(replace(replace(replace(replace("
    "fmt, '%Y', 'YYYY'), '%m', 'MM'), '%d', 'DD'), '%H', 'HH24'), '%M', 'MI'))$$",
]


def _settle_function(table: str) -> str:
    """PostgreSQL's settlement by a log row: its reservation is deleted first, then its budget rows in `table`
    charged, so a settlement waits for a seed that has locked the reservation (store/budget_spend.py)."""
    return (
        "CREATE OR REPLACE FUNCTION helix_settle_reservation() RETURNS trigger LANGUAGE plpgsql"
        " AS $$DECLARE held reservations%ROWTYPE; BEGIN"
        " DELETE FROM reservations WHERE id = NEW.id RETURNING * INTO held;"
        f" IF FOUND THEN UPDATE {table} SET spent = spent + coalesce(NEW.cost_usd, 0)"
        " WHERE (subject = held.key_subject AND period_start = held.key_period_start)"
        " OR (subject = held.user_subject AND period_start = held.user_period_start); END IF;"
        " RETURN NULL; END$$"
    )


# Statements PostgreSQL runs after a migration's own: its triggers, and the request log's insertion order
# (SQLite's implicit rowid, which the dashboard's feed and `helix logs --follow` page by).
POSTGRES_AFTER: dict[str, list[str]] = {
    "0001_request_log": [
        "ALTER TABLE requests ADD COLUMN rowid BIGSERIAL",
        "CREATE INDEX requests_rowid ON requests (rowid)",
    ],
    "0002_virtual_keys": [
        "CREATE FUNCTION helix_bump_keys_version() RETURNS trigger LANGUAGE plpgsql"
        " AS $$BEGIN UPDATE keys_version SET version = version + 1; RETURN NULL; END$$",
        "CREATE TRIGGER keys_inserted AFTER INSERT OR DELETE ON keys"
        " FOR EACH ROW EXECUTE FUNCTION helix_bump_keys_version()",
        "CREATE TRIGGER keys_changed AFTER UPDATE OF name, hash, prefix, expires_at, revoked_at, budget_usd,"
        " budget_period, user_budget_usd, user_budget_period, rpm, tpm, models ON keys"
        " FOR EACH ROW EXECUTE FUNCTION helix_bump_keys_version()",
    ],
    "0008_reservations": [
        "CREATE FUNCTION helix_settle_reservation() RETURNS trigger LANGUAGE plpgsql"
        " AS $$BEGIN DELETE FROM reservations WHERE id = NEW.id; RETURN NULL; END$$",
        "CREATE TRIGGER requests_settle_reservation AFTER INSERT ON requests"
        " FOR EACH ROW EXECUTE FUNCTION helix_settle_reservation()",
    ],
    "0012_budget_spend": [
        # The reservation is deleted first (and its budget_spend rows charged after): a first admission that
        # is seeding a row has locked the reservations it counts (store/budget_spend.py), so this waits for
        # it and then charges the row it wrote, rather than missing a row not committed yet.
        _settle_function("budget_spend"),
        "CREATE FUNCTION helix_release_reservation() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$BEGIN {_RELEASE_HOLD}; RETURN NULL; END$$",
        "CREATE TRIGGER reservations_released AFTER DELETE ON reservations"
        " FOR EACH ROW EXECUTE FUNCTION helix_release_reservation()",
    ],
    "0014_budget_settled": [
        # As in 0012 (the reservation first, then its rows), on `budget_settled`.
        _settle_function("budget_settled"),
        "CREATE OR REPLACE FUNCTION helix_release_reservation() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$BEGIN {_RELEASE_SETTLED}; RETURN NULL; END$$",
        # Each budget's row is taken by a conditional UPDATE (its row lock makes the check and the take one
        # step for every instance); a user's budget refusing gives back what the key's took.
        "CREATE FUNCTION helix_take_budgets() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
        f" IF NEW.key_limit IS NOT NULL THEN {_take('key')}; IF NOT FOUND THEN RETURN NULL; END IF; END IF;"
        f" IF NEW.user_limit IS NOT NULL THEN {_take('user')}; IF NOT FOUND THEN"
        " IF NEW.key_limit IS NOT NULL THEN UPDATE budget_spend SET reserved = reserved - NEW.cost_usd"
        f" WHERE {_held('key')}; END IF; RETURN NULL; END IF; END IF;"
        " RETURN NEW; END$$",
        "CREATE TRIGGER reservations_take BEFORE INSERT ON reservations"
        f" FOR EACH ROW WHEN ({_BUDGETED}) EXECUTE FUNCTION helix_take_budgets()",
    ],
}
# Serialises migrations across the instances that start together on one PostgreSQL database.
_POSTGRES_LOCK = 0x68656C6978  # "helix"


def migrations(postgres: bool = False) -> list[tuple[str, list[str]]]:
    """The migrations in order, each as its statements, for SQLite or for PostgreSQL."""
    if not postgres:
        return [(name, _statements(sql)) for name, sql in MIGRATIONS]
    found = [("0000_postgres_compat", list(_COMPAT_FUNCTIONS))]
    for name, sql in MIGRATIONS:
        own = [schema(s) for s in _statements(sql) if not s.upper().startswith(("CREATE TRIGGER", "DROP TRIGGER"))]
        found.append((name, own + POSTGRES_AFTER.get(name, [])))
    return found


def applied(conn: Any) -> list[str]:
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY name")]


def migrate(conn: Any, postgres: bool = False) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    if postgres:  # CREATE TABLE IF NOT EXISTS races between instances starting at once: take turns
        conn.execute("BEGIN")
        conn.execute(f"SELECT pg_advisory_xact_lock({_POSTGRES_LOCK})")
    done = set(applied(conn))
    if postgres:
        conn.execute("COMMIT")
    ordered = migrations(postgres)
    unknown = done - {name for name, _ in ordered}
    if unknown:
        raise RuntimeError(f"this database was migrated by a newer Helix ({', '.join(sorted(unknown))}); upgrade Helix")
    new: list[str] = []
    for name, statements in ordered:
        if name in done:
            continue
        # executescript would commit on its own; run statements one by one inside one transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if postgres:
                conn.execute(f"SELECT pg_advisory_xact_lock({_POSTGRES_LOCK})")
            if name in set(applied(conn)):  # another process got there first
                conn.execute("ROLLBACK")
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        new.append(name)
    return new


def _statements(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
