"""One set of queries for both backends: Helix writes its SQL once, in SQLite's dialect, and PostgreSQL gets
it through `postgres()`, which rewrites the few spellings that differ. The rest of the gap is closed on the
PostgreSQL side by migration `0000_postgres_compat` (`sum(boolean)` and `group_concat()` aggregates,
`date()`/`strftime()` for unix times, a `rowid` column on the request log), so no query has a per-backend twin.

Rewrites (outside string literals): `?` -> `%s` (and a literal `%` -> `%%`), `IS ?` / `IS NOT ?` -> `IS [NOT]
DISTINCT FROM`, `INSERT OR IGNORE` -> `ON CONFLICT DO NOTHING`, `BEGIN IMMEDIATE` -> `BEGIN`, the column
`user` (a reserved word there) -> `"user"`, `CAST(x AS INTEGER)` -> `CAST(trunc(x) AS BIGINT)` (SQLite
truncates, PostgreSQL rounds). `schema()` maps column types for migrations.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(
    r"'(?:[^']|'')*'"  # a string literal: only its % changes
    r"|\"[^\"]*\""  # a quoted identifier: untouched
    r"|(?P<is>\bIS\s+(?P<not>NOT\s+)?\?)"
    r"|(?P<ignore>\bINSERT\s+OR\s+IGNORE\s+INTO\b)"
    r"|(?P<begin>\bBEGIN\s+IMMEDIATE\b)"
    r"|(?P<user>(?<![.\w])(?-i:user)\b)"
    r"|\?|%",
    re.IGNORECASE,
)
_CAST = re.compile(r"\bCAST\s*\(", re.IGNORECASE)
_AS_INTEGER = re.compile(r"\s+AS\s+INTEGER\s*$", re.IGNORECASE)
_TYPES = (
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b", re.IGNORECASE), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
)


@lru_cache(maxsize=1024)
def postgres(sql: str) -> str:
    """`sql`, as written for SQLite, in PostgreSQL's dialect with psycopg's `%s` placeholders."""
    ignore = False

    def rewrite(match: re.Match[str]) -> str:
        nonlocal ignore
        text = match.group(0)
        if text.startswith("'"):
            return text.replace("%", "%%")
        if text.startswith('"'):
            return text
        if match.group("is"):
            return "IS DISTINCT FROM %s" if match.group("not") else "IS NOT DISTINCT FROM %s"
        if match.group("ignore"):
            ignore = True
            return "INSERT INTO"
        if match.group("begin"):
            return "BEGIN"
        if match.group("user"):
            return '"user"'
        return "%s" if text == "?" else "%%"

    out = _truncating_casts(_TOKEN.sub(rewrite, sql))
    if ignore:
        out = out.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return out


def schema(sql: str) -> str:
    """A migration's statement with SQLite's column types mapped to PostgreSQL's (`postgres()` still applies)."""
    for pattern, replacement in _TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


def _truncating_casts(sql: str) -> str:
    out, pos = [], 0
    for match in _CAST.finditer(sql):
        if match.start() < pos:
            continue
        close = _closing_paren(sql, match.end())
        inner = sql[match.end() : close]
        if close < 0 or not _AS_INTEGER.search(inner):
            continue
        value = _truncating_casts(_AS_INTEGER.sub("", inner))
        out += [sql[pos : match.start()], f"CAST(trunc({value}) AS BIGINT)"]
        pos = close + 1
    out.append(sql[pos:])
    return "".join(out)


def _closing_paren(sql: str, start: int) -> int:
    depth = 1
    for i in range(start, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1
