"""The legacy MySQL side of the tests: a schema like the brief's, rows to put in
it, the mapping file, and running `pulse import` and `pulse parity`.

The server itself is app.legacy.mariadb.MariaDB, started once per session by
the `mariadb` fixture (conftest.py); each test gets its own legacy database on it.
"""

import subprocess
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from MySQLdb.connections import Connection

from app.legacy.mariadb import MariaDB
from tests.support.processes import pulse

# The legacy bookings table as the brief describes it. No primary key: the
# legacy table has a plain index on id, which is how it came to hold the same
# booking twice.
BOOKINGS = """
create table bookings (
  id           int           not null,
  customer_id  int,
  created_at   datetime,
  total_amount decimal(12,2),
  destination  varchar(100),
  booking_type varchar(20),
  status       varchar(20),
  updated_at   timestamp     not null default current_timestamp on update current_timestamp,
  key bookings_id (id),
  key bookings_updated_at (updated_at)
) engine=InnoDB
"""

PAYMENTS = """
create table payments (
  id         int           not null auto_increment primary key,
  booking_id int           not null,
  amount     decimal(12,2),
  paid_at    datetime
) engine=InnoDB
"""

CUSTOMERS = """
create table customers (
  id         int           not null primary key,
  country    varchar(2),
  created_at datetime
) engine=InnoDB
"""

ZONE = "Europe/London"
MAPPING = f"""
source = "oldschool"
timezone = "{ZONE}"

[bookings]
currency = "GBP"
max_amount = "100000"
overlap = "10m"
"""

COLUMNS = ("id", "customer_id", "created_at", "total_amount", "destination", "booking_type", "status", "updated_at")


@dataclass
class Legacy:
    """One legacy database on the session's server."""

    server: MariaDB
    url: str
    database: str

    def connect(self) -> Connection:
        return self.server.connect(self.database)

    def execute(self, statement: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    def insert(self, rows: Iterable[Sequence[Any]], columns: Sequence[str] = COLUMNS, table: str = "bookings") -> None:
        rows = list(rows)
        if not rows:
            return
        marks = ", ".join(["%s"] * len(columns))
        with self.connect() as conn, conn.cursor() as cur:
            cur.executemany(f"insert into {table} ({', '.join(columns)}) values ({marks})", rows)


def new_legacy(server: MariaDB, tables: Sequence[str] = (BOOKINGS,)) -> Legacy:
    name = f"legacy_{uuid.uuid4().hex[:10]}"
    url = server.create_database(name)
    legacy = Legacy(server, url, name)
    for table in tables:
        legacy.execute(table)
    return legacy


def mapping_file(directory: Path, text: str = MAPPING) -> Path:
    path = directory / "legacy.toml"
    path.write_text(text)
    return path


def run_import(database_url: str, legacy: Legacy, mapping: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = pulse(database_url, "import", legacy.url, "--mapping", str(mapping), *args)
    assert done.returncode == 0, f"pulse import failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def booking_rows(
    count: int, first_id: int = 1, start: datetime = datetime(2026, 3, 27, 9), seed: int = 3
) -> list[tuple[Any, ...]]:
    """Clean legacy bookings over several days around the spring DST change in London:
    customers booking more than once, a cancelled booking in every ten."""
    rows = []
    for n in range(first_id, first_id + count):
        created = start + timedelta(minutes=(n * 53 * seed) % (4 * 24 * 60))
        rows.append(
            (
                n,
                100 + (n * 7) % (count // 3 + 1),
                created,
                Decimal(40 + (n * 104729) % 2960) + Decimal(n % 100) / 100,
                ["Lisbon", "Tokyo", "Cancun", "Paris"][n % 4],
                ["flight", "hotel", "package"][n % 3],
                "cancelled" if n % 10 == 0 else ["confirmed", "pending", "Confirmed "][n % 3],
                created + timedelta(minutes=5 + n % 30),
            )
        )
    return rows


# Rows that cannot become valid events, each with the legacy column the reason names.
MESSY = [
    ((9001, None, datetime(2026, 3, 28, 10), Decimal("80.00"), "Paris", "hotel", "confirmed"), "customer_id"),
    ((9002, 7, datetime(2026, 3, 28, 11), Decimal("-25.00"), "Paris", "hotel", "confirmed"), "total_amount"),
    ((9003, 7, datetime(2026, 3, 28, 12), Decimal("9999999.99"), "Tokyo", "flight", "confirmed"), "total_amount"),
    ((9004, 8, datetime(2026, 3, 28, 13), Decimal("120.00"), "Lisbon", "flight", "on hold?"), "status"),
    ((9005, 8, datetime(2026, 3, 28, 14), None, "Lisbon", "flight", "confirmed"), "total_amount"),
    ((9006, 9, None, Decimal("60.00"), "Lisbon", "car", "confirmed"), "created_at"),
    ((9007, 9, datetime(2026, 3, 28, 15), Decimal("70.00"), "  ", "car", "confirmed"), "destination"),
    ((9008, 9, datetime(1999, 12, 31, 23), Decimal("70.00"), "Lisbon", "car", "confirmed"), "created_at"),
    # A status whose reason quotes a tab, a backslash, a double quote and a newline.
    ((9009, 9, datetime(2026, 3, 28, 16), Decimal("70.00"), "Lisbon", "car", 'a\tb\\c"d\ne'), "status"),
]


def messy_rows() -> list[tuple[Any, ...]]:
    return [(*row, (row[2] or datetime(2026, 3, 28)) + timedelta(minutes=1)) for row, _ in MESSY]


def duplicate_rows() -> list[tuple[Any, ...]]:
    """The same booking twice (a double-loaded batch), and a key reused with different values."""
    at = datetime(2026, 3, 29, 16)
    return [
        (9101, 11, at, Decimal("300.00"), "Cancun", "package", "confirmed", at + timedelta(minutes=2)),
        (9101, 11, at, Decimal("300.00"), "Cancun", "package", "confirmed", at + timedelta(minutes=2)),
        (9102, 12, at, Decimal("150.00"), "Tokyo", "flight", "confirmed", at + timedelta(minutes=3)),
        (9102, 13, at, Decimal("175.00"), "Tokyo", "flight", "confirmed", at + timedelta(minutes=3)),
    ]


def legacy_daily_report(legacy: Legacy) -> list[tuple[Any, ...]]:
    """The brief's nightly report, verbatim, on MySQL."""
    return legacy.execute(
        "SELECT DATE(created_at), COUNT(*), SUM(total_amount), AVG(total_amount) "
        "FROM bookings GROUP BY DATE(created_at) ORDER BY 1"
    )


def legacy_customer_analytics(legacy: Legacy) -> list[tuple[Any, ...]]:
    """The brief's nightly customer query, verbatim, on MySQL."""
    return legacy.execute(
        "SELECT customer_id, COUNT(*), SUM(total_amount), MAX(created_at) FROM bookings GROUP BY customer_id ORDER BY 1"
    )
