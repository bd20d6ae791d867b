"""pulse parity: the legacy nightly queries on MariaDB beside the views, clean on
matching data, every seeded difference named, non-zero on an unexplained one."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app.legacy.mariadb import MariaDB
from core.settings import Settings
from tests.support.events import booking
from tests.support.legacy import (
    ZONE,
    Legacy,
    booking_rows,
    duplicate_rows,
    mapping_file,
    messy_rows,
    new_legacy,
    run_import,
)
from tests.support.pipeline import append, drain
from tests.support.processes import pulse


@pytest.fixture
def legacy(mariadb: MariaDB) -> Legacy:
    return new_legacy(mariadb)


@pytest.fixture
def london(db: psycopg.Connection[Any]) -> None:
    db.execute("update analytics.settings set timezone = %s", (ZONE,))


def parity(database_url: str, legacy: Legacy, mapping: Path, first: str, last: str) -> tuple[int, str]:
    done = pulse(
        database_url,
        "parity",
        "--legacy",
        legacy.url,
        "--from",
        first,
        "--to",
        last,
        "--mapping",
        str(mapping),
        "--wait",
        "10",
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.stdout


def test_parity_is_clean_on_matching_data(
    legacy: Legacy, database_url: str, settings: Settings, london: None, tmp_path: Path
) -> None:
    legacy.insert(booking_rows(150))
    mapping = mapping_file(tmp_path)
    run_import(database_url, legacy, mapping)
    asyncio.run(drain(settings, batch_size=1000))
    code, out = parity(database_url, legacy, mapping, "2026-03-26", "2026-04-01")
    assert code == 0, out
    assert "parity: 5 days (5 same, 0 explained, 0 unexplained)" in out
    assert "customers (" in out and "0 unexplained): every difference is explained" in out
    assert "2026-03-29" in out  # the day the clocks go forward, cut the same way on both sides


def test_parity_names_every_seeded_difference_and_fails_on_an_unexplained_one(
    legacy: Legacy, database_url: str, db: psycopg.Connection[Any], settings: Settings, london: None, tmp_path: Path
) -> None:
    legacy.insert(booking_rows(60) + messy_rows() + duplicate_rows())
    mapping = mapping_file(tmp_path)
    run_import(database_url, legacy, mapping)
    # After the import: a total changed (and imported), a row deleted, a row not imported yet.
    legacy.execute("update bookings set total_amount = total_amount + 100 where id = 3")
    run_import(database_url, legacy, mapping)
    legacy.execute("delete from bookings where id = 4")
    legacy.execute(
        "insert into bookings values (7001, 150, '2026-03-28 18:00:00', 45.00, 'Lisbon', 'car', 'confirmed', now())"
    )
    # A booking only Booking Pulse has.
    only = booking(occurred_at=datetime(2026, 4, 2, 12, tzinfo=UTC))
    only["data"].update(booking_id="web-1", customer_id="c-web")
    asyncio.run(append(database_url, [only]))
    asyncio.run(drain(settings, batch_size=1000))

    code, out = parity(database_url, legacy, mapping, "2026-03-27", "2026-04-02")
    assert code == 1, out
    for seeded in (
        "row id=9002 quarantined: total_amount: -25.00 is negative",
        "row id=9004 quarantined: status: 'on hold?' is not a known status",
        "row id=9001 quarantined: customer_id: is NULL",
        "row id=9101 (copy 2) is a duplicate: the write contract refused booking legacy-9101 a second time",
        "row id=9102 (copy 2) is a duplicate",
        "booking legacy-3 modified from",
        "the legacy query sums the current total, the view the total at creation",
        "booking legacy-4: its legacy row id=4 was deleted from bookings after the import",
        "row id=7001 not imported yet: its updated_at",
        "! UNEXPLAINED: booking web-1 is only in Booking Pulse: no legacy row made it",
    ):
        assert seeded in out, f"{seeded!r} not in:\n{out}"
    assert "2026-04-02" in out and "UNEXPLAINED differences remain" in out
    # Rows dated before 2000 are quarantined too, but on no day of this range.
    assert "9008" not in out.split("legacy customer analytics")[0]

    # Without the day of the unexplained booking, every difference is explained: exit 0, still listed.
    code, out = parity(database_url, legacy, mapping, "2026-03-27", "2026-03-31")
    assert code == 0, out
    assert "booking legacy-3 modified from" in out and "every difference is explained" in out
    assert "UNEXPLAINED" not in out


def test_parity_refuses_to_pass_while_days_are_cut_in_another_time_zone(
    legacy: Legacy, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    legacy.insert(booking_rows(20))
    mapping = mapping_file(tmp_path)
    run_import(database_url, legacy, mapping)
    asyncio.run(drain(settings, batch_size=1000))
    code, out = parity(database_url, legacy, mapping, "2026-03-27", "2026-03-31")
    assert code == 1
    assert "PROBLEM: the business time zone is UTC but the legacy time zone is Europe/London" in out
