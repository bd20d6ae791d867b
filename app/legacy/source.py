"""Reading the legacy MySQL (or MariaDB) database with mysqlclient (MySQLdb).

Large reads go through a server-side (unbuffered) cursor, `SSCursor`, fetched
a batch at a time: a table larger than memory streams, and the import holds
only the batches in flight. Connections are autocommit, so every statement
reads a fresh consistent snapshot, and use UTC as their session time zone, so
TIMESTAMP columns come back in UTC while DATETIME columns come back as written
(in the legacy time zone of the mapping file).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import MySQLdb
import MySQLdb.cursors
from MySQLdb.constants import FIELD_TYPE
from MySQLdb.converters import conversions

from core.sql import named_queries

Row = tuple[Any, ...]
if TYPE_CHECKING:
    from MySQLdb.connections import Connection

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class SourceError(Exception):
    """The legacy database cannot be read as the mapping says."""


class SourceUnreachable(SourceError):
    """The legacy server did not answer or went away: worth trying again later."""


class SourceRefused(SourceError):
    """The legacy server refused the connection (user, password, database): the URL needs fixing."""


# MySQL client errors for a server that cannot be reached: can't connect (local, TCP), unknown
# host, gone away, lost during the query. Access denied or an unknown database are not among them.
_UNREACHABLE = {2002, 2003, 2005, 2006, 2013}


@dataclass(frozen=True)
class LegacyUrl:
    host: str
    port: int
    user: str
    password: str
    database: str
    unix_socket: str | None = None

    @classmethod
    def parse(cls, url: str) -> LegacyUrl:
        """mysql://user:password@host:port/database (also mariadb://; ?unix_socket=/path)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb") or not parts.path.strip("/"):
            raise SourceError(f"not a MySQL URL: {redact(url)}; expected mysql://user:password@host:port/database")
        query = parse_qs(parts.query)
        try:
            port = parts.port or 3306
        except ValueError as error:
            raise SourceError(f"bad port in {redact(url)}: {error}") from None
        return cls(
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=unquote(parts.path.strip("/")),
            unix_socket=query["unix_socket"][0] if "unix_socket" in query else None,
        )

    def redacted(self) -> str:
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)


def _datetime(text: str) -> datetime | str:
    # DATETIME and TIMESTAMP as datetimes; MySQL's zero dates ('0000-00-00
    # 00:00:00') stay text, for the mapping to refuse with a reason.
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


_CONVERSIONS: dict[Any, Any] = {**conversions, FIELD_TYPE.DATETIME: _datetime, FIELD_TYPE.TIMESTAMP: _datetime}


def quote(identifier: str) -> str:
    """A MySQL identifier, backquoted."""
    return "`" + identifier.replace("`", "``") + "`"


def legacy_query(name: str, **identifiers: str | Sequence[str]) -> str:
    """A named query of sql/legacy/mysql.sql with its identifiers filled in, backquoted."""
    text = named_queries("legacy/mysql.sql")[name]

    def fill(match: re.Match[str]) -> str:
        value = identifiers.get(match[1])
        if value is None:
            raise KeyError(f"query {name} needs identifier {match[1]}")
        return quote(value) if isinstance(value, str) else ", ".join(quote(v) for v in value)

    return _PLACEHOLDER.sub(fill, text)


class LegacySource:
    """One legacy database: short queries on one connection, streams on their own."""

    def __init__(self, url: str, connect_timeout: int = 10) -> None:
        self.url = LegacyUrl.parse(url)
        self.connect_timeout = connect_timeout
        self._conn: Connection | None = None

    def connect(self) -> Connection:
        where: dict[str, Any] = (
            {"unix_socket": self.url.unix_socket}
            if self.url.unix_socket is not None
            # libmariadb takes "localhost" for its default unix socket; a URL with a host means TCP.
            else {"host": "127.0.0.1" if self.url.host == "localhost" else self.url.host, "port": self.url.port}
        )
        try:
            return MySQLdb.connect(
                **where,
                user=self.url.user,
                password=self.url.password,
                database=self.url.database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=self.connect_timeout,
                init_command="SET time_zone = '+00:00'",
                conv=_CONVERSIONS,
            )
        except MySQLdb.MySQLError as error:
            unreachable = bool(error.args) and error.args[0] in _UNREACHABLE
            raise (SourceUnreachable if unreachable else SourceRefused)(
                f"cannot connect to {self.url.redacted()}: {error}"
            ) from None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = self.connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> LegacySource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        """All rows of a short query."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def stream(self, sql: str, params: dict[str, Any] | None = None, batch_size: int = 10000) -> Iterator[list[Row]]:
        """The rows of a long query in batches, through a server-side cursor on a connection of its own."""
        conn = self.connect()
        try:
            with conn.cursor(MySQLdb.cursors.SSCursor) as cur:
                cur.execute(sql, params)
                while batch := cur.fetchmany(batch_size):
                    yield list(batch)
        finally:
            # Closing mid-stream drops the rest of the result with the connection.
            conn.close()

    def columns(self, table: str) -> dict[str, str]:
        """Column name to MySQL data type (datetime, timestamp, decimal, ...); empty when there is no such table."""
        rows = self.fetch(legacy_query("table_columns"), {"table": table})
        return {str(name): str(kind).lower() for name, kind in rows}

    def key_is_unique(self, table: str, key: str) -> bool:
        """Whether a unique index (or the primary key) holds exactly the key column."""
        return any(str(columns) == key for _, columns in self.fetch(legacy_query("unique_indexes"), {"table": table}))
