"""pulse import against a real MariaDB: the legacy reports come out the same,
reruns append nothing, a kill -9 resumes to the same state, --follow picks up
new, changed and late rows, and what cannot be imported is quarantined with its
reasons."""

import asyncio
import fcntl
import json
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import tomllib
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from psycopg import sql

from app.legacy.importer import Importer, _copy_text
from app.legacy.mapping import QUARANTINE_CONTENT_TYPE, load_mapping, map_booking
from app.legacy.mariadb import MariaDB
from core.settings import PROJECT_ROOT, Settings
from tests.support.databases import url_for
from tests.support.events import booking
from tests.support.legacy import (
    CUSTOMERS,
    MESSY,
    PAYMENTS,
    ZONE,
    Legacy,
    booking_rows,
    duplicate_rows,
    legacy_customer_analytics,
    legacy_daily_report,
    mapping_file,
    messy_rows,
    new_legacy,
    run_import,
)
from tests.support.pipeline import append, drain
from tests.support.processes import pulse, pulse_process, wait_for
from tests.support.views import rows

LONDON = ZoneInfo(ZONE)


@pytest.fixture
def legacy(mariadb: MariaDB) -> Legacy:
    return new_legacy(mariadb)


@pytest.fixture
def london(db: psycopg.Connection[Any]) -> None:
    """The business time zone is the legacy time zone, as docs/switch-over.md asks."""
    db.execute("update analytics.settings set timezone = %s", (ZONE,))


@pytest.fixture
def second_database_url(postgresql_proc: Any, postgresql: psycopg.Connection[Any]) -> Iterator[str]:
    """Another migrated database on the test cluster, for a second, clean import."""
    info = postgresql.info
    name = f"second_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url_for(info.host, info.port, info.user, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(postgresql_proc.template_dbname)
            )
        )
        try:
            yield url_for(info.host, info.port, info.user, name)
        finally:
            admin.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def events(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return rows(db, "select event_id, type, occurred_at, data from pulse.events order by event_id")


def count(db: psycopg.Connection[Any], statement: str, params: tuple[Any, ...] = ()) -> int:
    row = db.execute(statement, params).fetchone()
    assert row is not None
    return int(row[0])


def daily_view(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return rows(
        db,
        "select booking_date, total_bookings, revenue, avg_booking_value from analytics.legacy_daily_report order by 1",
    )


def customers_view(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return rows(
        db,
        "select customer_id::int, lifetime_bookings, lifetime_value, last_booking_date "
        "from analytics.legacy_customer_analytics order by 1",
    )


def in_london(report: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """MAX(created_at) of the legacy query is local time: the same instant, with its zone. (Compared in
    UTC: a local time in the spring-forward gap never equals another zone's time in Python.)"""
    return [(*row[:3], row[3].replace(tzinfo=LONDON).astimezone(UTC)) for row in report]


# The analyst's nightly report, pointed at analytics.bookings: DATE() and
# COUNT/SUM as written; AVG rounded to the 6 places MySQL's AVG over DECIMAL(…,2) gives.
ANALYST_DAILY = (
    "SELECT DATE(created_at), COUNT(*), SUM(total_amount), ROUND(AVG(total_amount), 6) "
    "FROM analytics.bookings GROUP BY DATE(created_at) ORDER BY 1"
)


def test_the_import_gives_the_legacy_nightly_reports(
    legacy: Legacy, database_url: str, db: psycopg.Connection[Any], settings: Settings, london: None, tmp_path: Path
) -> None:
    legacy.insert(booking_rows(240))
    done = run_import(database_url, legacy, mapping_file(tmp_path))
    assert "bookings: 240 rows read" in done.stdout
    assert "240 bookings created, 24 cancellations, 0 modifications, 0 quarantined, 0 duplicate rows" in done.stdout
    assert "264 events appended" in done.stdout

    asyncio.run(drain(settings, batch_size=1000))
    assert daily_view(db) == legacy_daily_report(legacy)
    assert customers_view(db) == in_london(legacy_customer_analytics(legacy))
    # The analyst's own SQL, unchanged but for the dialect, gives the legacy answer.
    db.execute("select set_config('timezone', %s, false)", (ZONE,))
    assert rows(db, ANALYST_DAILY) == legacy_daily_report(legacy)
    assert count(db, "select count(*) from analytics.bookings where status = 'cancelled'") == 24
    # Every booking is the legacy row's: creation time in the legacy zone, total, currency.
    first = db.execute(
        "select created_at, total_amount, currency, customer_id, destination from analytics.bookings "
        "where booking_id = 'legacy-1'"
    ).fetchone()
    row = booking_rows(240)[0]
    assert first == (row[2].replace(tzinfo=LONDON), row[3], "GBP", str(row[1]), row[4])


def test_what_cannot_be_imported_is_quarantined_with_its_reasons_and_counted(
    legacy: Legacy, database_url: str, db: psycopg.Connection[Any], settings: Settings, london: None, tmp_path: Path
) -> None:
    clean = booking_rows(30)
    legacy.insert(clean + messy_rows() + duplicate_rows())
    done = run_import(database_url, legacy, mapping_file(tmp_path))
    read = len(clean) + len(MESSY) + len(duplicate_rows())
    assert f"bookings: {read} rows read" in done.stdout
    assert f"32 bookings created, 3 cancellations, 0 modifications, {len(MESSY)} quarantined, 2 duplicate rows" in (
        done.stdout
    )
    assert f"{len(MESSY) + 2} rows could not become events" in done.stdout

    quarantined = {
        json.loads(bytes(raw))["id"]: (content_type, reasons)
        for content_type, raw, reasons in db.execute("select content_type, raw, reasons from pulse.quarantine")
    }
    assert len(quarantined) == len(MESSY) + 2
    for row, column in MESSY:
        content_type, reasons = quarantined[row[0]]
        assert content_type == f"{QUARANTINE_CONTENT_TYPE}; source=oldschool; table=bookings"
        assert column in {reason["field"] for reason in reasons}, (row, reasons)
    assert "not a known status" in str(quarantined[9004][1])
    assert "more than max_amount" in str(quarantined[9003][1])
    assert "is negative" in str(quarantined[9002][1])
    # Each row's state keeps its reasons exactly as quarantined, whatever characters they quote.
    assert dict(rows(db, "select row_key::int, reasons from pulse.legacy_rows where outcome = 'quarantined'")) == {
        row[0]: quarantined[row[0]][1] for row, _ in MESSY
    }
    assert "'a\\tb\\\\c\"d\\ne' is not a known status" in quarantined[9009][1][0]["message"]
    # The same booking twice: the write contract refused the second creation.
    duplicates = rows(
        db,
        "select row_key, ordinal, outcome, reasons->0->>'message' from pulse.legacy_rows "
        "where outcome = 'duplicate' order by 1",
    )
    assert [(key, ordinal, outcome) for key, ordinal, outcome, _ in duplicates] == [
        ("9101", 1, "duplicate"),
        ("9102", 1, "duplicate"),
    ]
    assert all("booking legacy-91" in message and "already created by event" in message for *_, message in duplicates)
    assert count(db, "select count(*) from pulse.booking_ids where booking_id in ('legacy-9101', 'legacy-9102')") == 2
    # Nothing silently dropped: every row read is a booking, quarantined or a refused duplicate.
    outcomes = dict(rows(db, "select outcome, count(*) from pulse.legacy_rows group by 1"))
    assert outcomes == {"imported": 32, "quarantined": len(MESSY), "duplicate": 2}

    # A rerun appends nothing and quarantines nothing again.
    before = (events(db), count(db, "select count(*) from pulse.quarantine"))
    again = run_import(database_url, legacy, mapping_file(tmp_path))
    assert "0 events appended" in again.stdout and "could not become events" not in again.stdout
    assert (events(db), count(db, "select count(*) from pulse.quarantine")) == before

    # Once the mapping knows the status, the quarantined row is imported on the next run.
    fixed = mapping_file(
        tmp_path,
        Path(mapping_file(tmp_path)).read_text() + "\n[bookings.status]\n"
        'confirmed = ["confirmed", "pending", "on hold?"]\ncancelled = ["cancelled"]\n',
    )
    third = run_import(database_url, legacy, fixed)
    assert "1 bookings created" in third.stdout
    assert count(db, "select count(*) from pulse.booking_ids where booking_id = 'legacy-9004'") == 1


def test_changed_rows_become_modifications_and_cancellations_once(
    legacy: Legacy, database_url: str, db: psycopg.Connection[Any], settings: Settings, london: None, tmp_path: Path
) -> None:
    legacy.insert(booking_rows(20))
    mapping = mapping_file(tmp_path)
    run_import(database_url, legacy, mapping)
    (original,) = legacy.execute("select total_amount from bookings where id = 3")[0]

    legacy.execute("update bookings set total_amount = 999.00 where id = 3")
    assert "0 cancellations, 1 modifications" in run_import(database_url, legacy, mapping).stdout
    # Back to the first total: a second modification, not the first one again.
    legacy.execute("update bookings set total_amount = %s where id = 3", (original,))
    assert "0 cancellations, 1 modifications" in run_import(database_url, legacy, mapping).stdout
    legacy.execute("update bookings set status = 'canceled', total_amount = 12.50 where id = 4")
    assert "1 cancellations, 1 modifications" in run_import(database_url, legacy, mapping).stdout
    assert "0 events appended" in run_import(database_url, legacy, mapping).stdout

    asyncio.run(drain(settings, batch_size=1000))
    assert rows(
        db,
        "select booking_id, status, modifications, total_amount from analytics.bookings "
        "where booking_id in ('legacy-3', 'legacy-4') order by 1",
    ) == [("legacy-3", "modified", 2, original), ("legacy-4", "cancelled", 1, Decimal("12.50"))]
    # The legacy report sums the totals as they are now; so does the analyst's SQL on analytics.bookings.
    db.execute("select set_config('timezone', %s, false)", (ZONE,))
    assert rows(db, ANALYST_DAILY) == legacy_daily_report(legacy)


def test_a_booking_live_traffic_created_first_is_not_created_again(
    legacy: Legacy, database_url: str, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    legacy.insert(booking_rows(5))
    live = booking()
    live["data"]["booking_id"] = "legacy-2"
    asyncio.run(append(database_url, [live]))
    done = run_import(database_url, legacy, mapping_file(tmp_path))
    assert "4 bookings created" in done.stdout and "1 already created by live traffic" in done.stdout
    assert rows(db, "select event_id::text from pulse.booking_ids where booking_id = 'legacy-2'") == [
        (live["event_id"],)
    ]
    assert rows(db, "select outcome from pulse.legacy_rows where row_key = '2'") == [("live",)]
    assert count(db, "select count(*) from pulse.quarantine") == 0


def test_payments_and_customers_are_imported_when_present(
    mariadb: MariaDB, database_url: str, db: psycopg.Connection[Any], settings: Settings, tmp_path: Path
) -> None:
    from tests.support.legacy import BOOKINGS

    legacy = new_legacy(mariadb, (BOOKINGS, PAYMENTS, CUSTOMERS))
    legacy.insert(booking_rows(6))
    legacy.insert(
        [(1, Decimal("50.00"), datetime(2026, 3, 28, 9)), (2, Decimal("20.00"), datetime(2026, 3, 28, 10))],
        ("booking_id", "amount", "paid_at"),
        "payments",
    )
    legacy.insert(
        [(101, "PT", datetime(2025, 1, 5)), (102, None, datetime(2025, 2, 6))],
        ("id", "country", "created_at"),
        "customers",
    )
    done = run_import(database_url, legacy, mapping_file(tmp_path))
    assert "payments: 2 rows read" in done.stdout and "customers: 2 rows read" in done.stdout
    assert dict(rows(db, "select type, count(*) from pulse.events group by 1")) == {
        "booking.created": 6,
        "payment.captured": 2,
        "customer.registered": 2,
    }
    asyncio.run(drain(settings, batch_size=1000))
    assert rows(db, "select amount_paid from analytics.bookings where booking_id = 'legacy-1'") == [(Decimal("50.00"),)]
    # Without updated_at, their watermark is the key: a rerun reads the last keys again and appends nothing,
    # a new payment is picked up.
    assert rows(db, "select legacy_table, watermark_column from pulse.legacy_imports order by 1") == [
        ("bookings", "updated_at"),
        ("customers", "id"),
        ("payments", "id"),
    ]
    legacy.insert([(3, Decimal("30.00"), datetime(2026, 3, 29, 9))], ("booking_id", "amount", "paid_at"), "payments")
    again = run_import(database_url, legacy, mapping_file(tmp_path))
    assert "payments: 3 rows read" in again.stdout and "1 payments" in again.stdout
    assert "customers: 2 rows read" in again.stdout and "0 customers registered" in again.stdout


def fingerprint(url: str) -> dict[str, Any]:
    """Everything an import leaves, but when and in which transaction it was written."""
    with psycopg.connect(url) as conn:
        return {
            "events": events(conn),
            "booking_ids": rows(conn, "select booking_id, event_id from pulse.booking_ids order by 1"),
            "quarantine": sorted(
                (row[0], bytes(row[1]), json.dumps(row[2]))
                for row in conn.execute("select content_type, raw, reasons from pulse.quarantine")
            ),
            "rows": rows(conn, "select * from pulse.legacy_rows order by row_key, ordinal"),
            "watermark": rows(conn, "select source, legacy_table, watermark from pulse.legacy_imports"),
        }


BIG = 15000
BIG_MAPPING = f"""
source = "oldschool"
timezone = "{ZONE}"
batch_size = 500

[bookings]
currency = "GBP"
max_amount = "100000"
"""


def big_table(legacy: Legacy) -> None:
    """A table much larger than one batch, made by MySQL itself, with messy and duplicate rows among it."""
    with legacy.connect() as conn, conn.cursor() as cur:
        cur.execute("set session max_recursive_iterations = 1000000")
        cur.execute(
            "insert into bookings (id, customer_id, created_at, total_amount, destination, booking_type, status, "
            "updated_at) "
            "with recursive seq (n) as (select 1 union all select n + 1 from seq where n < %s) "
            "select n, 1 + n %% 997, timestamp '2025-06-01 00:00:00' + interval (n * 301) second, "
            "10 + (n * 7919) %% 500000 / 100, elt(1 + n %% 4, 'Lisbon', 'Tokyo', 'Cancun', 'Paris'), "
            "elt(1 + n %% 3, 'flight', 'hotel', 'package'), if(n %% 9 = 0, 'cancelled', 'confirmed'), "
            "timestamp '2025-06-01 00:00:00' + interval (n * 301 + 60) second from seq",
            (BIG,),
        )
    legacy.insert(messy_rows() + duplicate_rows())


def test_killed_mid_run_then_run_again_gives_the_same_state_as_one_clean_run_in_bounded_memory(
    legacy: Legacy, database_url: str, db: psycopg.Connection[Any], second_database_url: str, tmp_path: Path
) -> None:
    mapping = mapping_file(tmp_path, BIG_MAPPING)
    big_table(legacy)
    total = BIG + len(MESSY) + len(duplicate_rows())

    process = pulse_process(["import", legacy.url, "--mapping", str(mapping), "--no-progress"], database_url)
    try:

        def some_batches_committed() -> bool:
            assert process.poll() is None, "the import ended before it could be killed"
            return count(db, "select coalesce(sum(rows_read), 0) from pulse.legacy_imports") >= 2000

        wait_for(some_batches_committed, timeout=60, interval=0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert count(db, "select count(*) from pulse.legacy_rows") < total, "killed too late to prove anything"
    resumed = run_import(database_url, legacy, mapping, "--no-progress")
    assert "already in the log" not in resumed.stdout

    # One clean run, in this process, watching its memory: the table streams.
    mapping_ = load_mapping(mapping)
    tracemalloc.start()
    try:
        importer = Importer(second_database_url, legacy.url, mapping_, progress=False)
        (tally,) = importer.run()
        _, peak = tracemalloc.get_traced_memory()
        # What holding the table would take, from 2000 of its rows held.
        (bound,) = importer.bind()
        sample = importer.source.fetch(f"select {', '.join(bound.columns)} from bookings limit 2000")
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        held = [map_booking(bound, row) for row in sample]
        per_row = (tracemalloc.get_traced_memory()[0] - before) / len(held)
        importer.close()
    finally:
        tracemalloc.stop()
    assert tally.rows == total
    assert peak < per_row * total / 3, f"peak {peak / 1e6:.1f} MB, the whole table {per_row * total / 1e6:.1f} MB"

    assert fingerprint(database_url) == fingerprint(second_database_url)
    assert count(db, "select count(*) from pulse.legacy_rows") == total


def test_follow_picks_up_new_changed_and_late_rows(
    legacy: Legacy, database_url: str, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    legacy.insert(booking_rows(50))
    mapping = mapping_file(tmp_path)
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "import",
            legacy.url,
            "--mapping",
            str(mapping),
            "--follow",
            "--interval",
            "0.2",
        ],
        env={**os.environ, "PULSE_DATABASE_URL": database_url},
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def created(booking_id: str) -> bool:
        assert follower.poll() is None, follower.communicate()
        return count(db, "select count(*) from pulse.booking_ids where booking_id = %s", (booking_id,)) == 1

    def events_of(booking_id: str, kind: str) -> int:
        return count(
            db, "select count(*) from pulse.events where type = %s and data->>'booking_id' = %s", (kind, booking_id)
        )

    try:
        wait_for(lambda: created("legacy-50"), timeout=30)
        # While the legacy application keeps writing: a new booking, a changed total, a cancellation.
        legacy.execute(
            "insert into bookings values (501, 7, '2026-11-20 10:00:00', 80.00, 'Paris', 'hotel', 'confirmed', now())"
        )
        legacy.execute("update bookings set total_amount = total_amount + 10 where id = 5")
        legacy.execute("update bookings set status = 'cancelled' where id = 6")
        wait_for(lambda: created("legacy-501"), timeout=30)
        wait_for(lambda: events_of("legacy-5", "booking.modified") == 1, timeout=30)
        wait_for(lambda: events_of("legacy-6", "booking.cancelled") == 1, timeout=30)
        ((latest,),) = legacy.execute("select max(updated_at) from bookings")
        # Committed late: its updated_at is before the watermark, but inside the 10-minute overlap.
        legacy.execute(
            "insert into bookings values (502, 7, '2026-11-20 11:00:00', 90.00, 'Paris', 'hotel', 'confirmed', %s)",
            (latest - timedelta(minutes=4),),
        )
        # Committed far too late: outside the overlap, only a --full pass finds it.
        legacy.execute(
            "insert into bookings values (503, 7, '2026-11-20 12:00:00', 95.00, 'Paris', 'hotel', 'confirmed', %s)",
            (latest - timedelta(hours=2),),
        )
        wait_for(lambda: created("legacy-502"), timeout=30)
        polled = rows(db, "select polled_at from pulse.legacy_imports")
        wait_for(lambda: rows(db, "select polled_at from pulse.legacy_imports") != polled, timeout=30)
        assert not created("legacy-503")
    finally:
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert "following mysql://" in out and "events appended" in out
    # Nothing twice, however many polls read the overlap again.
    assert events_of("legacy-5", "booking.modified") == 1
    assert count(db, "select count(*) from pulse.events where type = 'booking.created'") == 52

    assert "1 bookings created" in run_import(database_url, legacy, mapping, "--full").stdout
    assert count(db, "select count(*) from pulse.booking_ids where booking_id = 'legacy-503'") == 1


def test_the_progress_bar_shows_rows_per_second_and_time_left_on_a_terminal_only(
    legacy: Legacy, database_url: str, tmp_path: Path
) -> None:
    legacy.insert(booking_rows(300))
    mapping = mapping_file(tmp_path)
    leader, follower = pty.openpty()
    # A terminal 120 columns wide, as a real one has a size.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "import", legacy.url, "--mapping", str(mapping)],
            env={**os.environ, "PULSE_DATABASE_URL": database_url},
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=follower,
        )
        os.close(follower)
        chunks: list[bytes] = []

        def read() -> None:
            # Read while it writes: a full terminal buffer would block it.
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                chunks.append(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        assert process.wait(timeout=60) == 0
        reader.join(timeout=10)
    finally:
        os.close(leader)
    text = b"".join(chunks).decode(errors="replace")
    assert "bookings: 100%" in text and "300/300" in text
    assert "rows/s" in text and "<00:00" in text  # rate, and time elapsed<time left
    # Not a terminal: no bar at all.
    quiet = pulse(database_url, "import", legacy.url, "--mapping", str(mapping))
    assert quiet.returncode == 0 and "rows/s]" not in quiet.stderr and "%|" not in quiet.stderr


def test_rows_read_in_the_legacy_time_zone_land_on_the_legacy_day(tmp_path: Path) -> None:
    from app.legacy.mapping import Bound, map_booking, parse_mapping

    mapping = parse_mapping({"timezone": ZONE, "bookings": {"currency": "GBP"}})
    types = {
        "id": "int",
        "customer_id": "int",
        "created_at": "datetime",
        "total_amount": "decimal",
        "destination": "varchar",
        "booking_type": "varchar",
        "status": "varchar",
        "updated_at": "timestamp",
    }
    bound = Bound(mapping, mapping.tables["bookings"], types)
    assert bound.columns == [
        "id",
        "updated_at",
        "customer_id",
        "created_at",
        "total_amount",
        "destination",
        "booking_type",
        "status",
    ]
    winter = (1, datetime(2026, 1, 2, 0, 30), 5, datetime(2026, 1, 1, 23, 30), Decimal("10.00"), "Oslo", "car", "ok")
    summer = (2, datetime(2026, 7, 2, 0, 30), 5, datetime(2026, 7, 1, 23, 30), Decimal("10.00"), "Oslo", "car", "paid")
    a, b = map_booking(bound, winter), map_booking(bound, summer)
    assert a.event is None and "status" in {r.field for r in a.reasons}
    assert b.event is not None
    # 23:30 in London in July is 22:30 UTC, still the 1st; updated_at is a TIMESTAMP, read in UTC.
    assert b.event.occurred_at == datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    assert b.changed_at == datetime(2026, 7, 2, 0, 30, tzinfo=UTC)
    # The same row always gives the same event id; its duplicate copy another one.
    assert map_booking(bound, summer).event == b.event
    copy = map_booking(bound, summer, ordinal=1).event
    assert copy is not None and copy.event_id != b.event.event_id
    assert b.event.data == {
        "booking_id": "legacy-2",
        "customer_id": "5",
        "destination": "Oslo",
        "booking_type": "car",
        "total_amount": "10.00",
        "currency": "GBP",
    }
    assert timedelta(0) < b.changed_at - b.event.occurred_at


def test_the_documented_mapping_example_loads_and_mistakes_are_named() -> None:
    from app.legacy.mapping import MappingError, event_id, event_id_text, parse_mapping

    text = (PROJECT_ROOT / "docs" / "switch-over.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    mapping = parse_mapping(tomllib.loads(example))
    assert (mapping.source, mapping.timezone, mapping.currency) == ("oldschool", ZONE, "EUR")
    assert mapping.values == {"booking_type": {"FLT": "flight", "HTL": "hotel"}}
    assert mapping.tables["payments"].columns["booking_key"] == "booking_id"
    for wrong, message in (
        ({"bookings": {"tabel": "b"}}, "unknown setting tabel"),
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"bookings": {"currency": "EURO"}}, "not an ISO 4217 code"),
        ({"bookings": {"booking_id": "legacy"}}, "must contain {key} exactly once"),
        ({"bookings": {"status": {"confirmed": ["x"], "cancelled": ["x"]}}}, "both confirmed and cancelled"),
        ({"source": "a:b"}, "without ':'"),
    ):
        with pytest.raises(MappingError, match=message.replace("{", r"\{").replace("}", r"\}")):
            parse_mapping(wrong)
    assert event_id_text("oldschool", "bookings", "42", "created") == str(
        event_id("oldschool", "bookings", "42", "created")
    )


@given(values=st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=20))
@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_row_state_copy_text_reads_back_as_written(db: psycopg.Connection[Any], values: list[str | None]) -> None:
    """What a first pass COPYs into pulse.legacy_rows (keys, booking ids, reasons) is what PostgreSQL reads."""
    values = [None if value is None else value.replace("\x00", "") for value in values]
    with db.transaction(force_rollback=True):
        db.execute("create temporary table copied (ord integer, value text)")
        with db.cursor().copy("copy copied (ord, value) from stdin") as copy:
            copy.write("".join(f"{n}\t{_copy_text(value)}\n" for n, value in enumerate(values)).encode())
        assert [row[0] for row in db.execute("select value from copied order by ord").fetchall()] == values


def test_a_server_that_does_not_answer_is_worth_retrying_a_wrong_password_is_not(
    legacy: Legacy, database_url: str, tmp_path: Path
) -> None:
    """pulse import and pulse parity exit 75 (EX_TEMPFAIL) when MySQL or PostgreSQL does not answer, so
    a scheduler retries, and 2 when the legacy URL itself is wrong; each says why."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    parsed = urlsplit(legacy.url)
    silent = parsed._replace(netloc=f"{parsed.username}:{parsed.password}@127.0.0.1:{closed_port}").geturl()
    wrong_password = parsed._replace(netloc=f"{parsed.username}:not-it@{parsed.hostname}:{parsed.port}").geturl()
    mapping = str(mapping_file(tmp_path))
    days = ["--from", "2026-03-27", "--to", "2026-03-28"]
    for url, code in ((silent, os.EX_TEMPFAIL), (wrong_password, 2)):
        for command in (["import", url], ["parity", "--legacy", url, *days]):
            done = pulse(database_url, *command, "--mapping", mapping)
            assert (done.returncode, done.stdout) == (code, ""), done.stderr
            assert done.stderr.startswith("error: cannot connect to mysql://"), done.stderr
            assert "Traceback" not in done.stderr and "not-it" not in done.stderr
    nowhere = f"postgresql://pulse@127.0.0.1:{closed_port}/pulse"
    for command in (["import", legacy.url], ["parity", "--legacy", legacy.url, *days]):
        done = pulse(nowhere, *command, "--mapping", mapping)
        assert done.returncode == os.EX_TEMPFAIL, done.stderr
        assert done.stderr.startswith("error: cannot reach the database"), done.stderr
