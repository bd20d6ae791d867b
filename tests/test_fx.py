"""Exchange rates: pulse fx load, conversion at the rate in force, corrections."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from core.settings import Settings
from tests.support.events import booking
from tests.support.pipeline import append, drain
from tests.support.processes import pulse


def test_fx_load_converts_at_the_rate_in_force_and_corrections_apply_at_once(
    settings: Settings, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    db.execute("update analytics.settings set timezone = 'Europe/London'")
    # 2026-03-29 is the day London moves to summer time: its midnight is 00:00 UTC.
    at = datetime(2026, 3, 29, 10, tzinfo=UTC)
    asyncio.run(
        append(
            settings.database_url,
            [
                booking("Lisbon", amount="100.00", currency="EUR", occurred_at=at),
                booking("Lisbon", amount="100.00", currency="EUR", occurred_at=at + timedelta(days=1)),
                booking("Tokyo", amount="1000", currency="JPY", occurred_at=at),
            ],
        )
    )
    asyncio.run(drain(settings, batch_size=10))
    series = "select bucket, gross_revenue, missing_rates from analytics.bookings_series(%s, %s, 'day', %s)"
    days = (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 30, 23, tzinfo=UTC))

    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,rate\nEUR,2026-03-01,1.10\nEUR,2026-03-30,1.20\n")
    loaded = pulse(settings.database_url, "fx", "load", str(rates))
    assert loaded.returncode == 0, loaded.stderr
    assert "2 added, 0 corrected" in loaded.stdout
    # The second rate starts at London's midnight of the 30th: 23:00 UTC on the 29th.
    starts = db.execute("select valid_from from analytics.fx_rates order by 1").fetchall()
    assert [row[0] for row in starts] == [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 29, 23, tzinfo=UTC)]
    assert db.execute(series, (*days, "Lisbon")).fetchall() == [
        (datetime(2026, 3, 29, tzinfo=UTC), Decimal("110.0000"), None),
        (datetime(2026, 3, 29, 23, tzinfo=UTC), Decimal("120.0000"), None),
    ]
    # Tokyo's yen have no rate: the total is unknown, and says why.
    assert db.execute(series, (*days, "Tokyo")).fetchall()[0][1:] == (None, ["JPY"])

    rates.write_text("currency,valid_from,rate\nEUR,2026-03-30,1.25\nJPY,2026-03-01T00:00:00Z,0.0066\n")
    assert "1 added, 1 corrected" in pulse(settings.database_url, "fx", "load", str(rates)).stdout
    assert db.execute(series, (*days, "Lisbon")).fetchall()[1][1] == Decimal("125.0000")
    assert db.execute(series, (*days, "Tokyo")).fetchall()[0][1:] == (Decimal("6.6000"), None)


def test_fx_load_reports_every_bad_line_and_loads_nothing(
    settings: Settings, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "currency,valid_from,rate\nEUR,2026-03-01,1.1\nXYZ,2026-03-01,1\nGBP,2026-03-01T10:30:00Z,1.2\nCHF,soon,1\n"
        "SEK,2026-03-01,-1\nNOK,2026-03-01T10:00:00+05:30,1\n"
    )
    failed = pulse(settings.database_url, "fx", "load", str(rates))
    assert failed.returncode == 1
    for line, why in (
        (3, "'XYZ' is not an ISO 4217"),
        (4, "must be on the hour"),
        (5, "neither a date"),
        (6, "positive"),
        (7, "must be on the hour"),  # 10:00 at +05:30 is 04:30 UTC
    ):
        reported = [text for text in failed.stderr.splitlines() if f"rates.csv:{line}: " in text]
        assert len(reported) == 1 and why in reported[0], (line, failed.stderr)
    assert db.execute("select count(*) from analytics.fx_rates").fetchone() == (0,)
    rates.write_bytes(b"currency,valid_from,rate\n\xff\xfe,2026-03-01,1\n")
    unreadable = pulse(settings.database_url, "fx", "load", str(rates))
    assert unreadable.returncode == 1 and "not UTF-8" in unreadable.stderr and "Traceback" not in unreadable.stderr
