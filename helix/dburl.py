"""Where the state lives: a SQLite file (the zero-config default) or a PostgreSQL database shared by several
Helix instances. `[storage] url` and `--db` take either; a plain path is a SQLite file."""

from __future__ import annotations

from pathlib import Path

SQLITE_SCHEME = "sqlite://"  # + an absolute path, as in file:// URLs: sqlite:///var/lib/helix/helix.db
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class PostgresUrl(str):
    """A `postgresql://` connection URL (libpq's form): the shared backend."""

    __slots__ = ()

    def redacted(self) -> str:
        """The URL without its password, for banners and logs."""
        head, sep, tail = self.partition("://")
        credentials, at, host = tail.rpartition("@")
        if not at or ":" not in credentials:
            return str(self)
        return f"{head}{sep}{credentials.split(':', 1)[0]}:***@{host}"


Location = Path | PostgresUrl


def parse_location(text: str) -> Location:
    """`postgresql://...` is the shared backend; `sqlite:///abs/path` or a bare path is a SQLite file."""
    if text.startswith(POSTGRES_SCHEMES):
        return PostgresUrl(text)
    if text.startswith(SQLITE_SCHEME):
        text = text[len(SQLITE_SCHEME) :]
    elif "://" in text:
        raise ValueError(f"unsupported database URL '{text}': use sqlite:///path/helix.db or postgresql://user@host/db")
    return Path(text).expanduser()


def is_shared(location: Location) -> bool:
    """Whether other Helix instances may use the same database at the same time."""
    return isinstance(location, PostgresUrl)


def describe(location: Location) -> str:
    return location.redacted() if isinstance(location, PostgresUrl) else str(location)
