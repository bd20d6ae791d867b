"""Arrays packed for the binary protocol arrive in PostgreSQL as psycopg's own dumpers would send them."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.binary_arrays import TextArray, TimestamptzArray

# Text PostgreSQL can hold: no NUL, no lone surrogate.
TEXTS = st.lists(st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40), max_size=30)
ZONES = [
    UTC,
    timezone(timedelta(hours=5, minutes=45)),
    timezone(-timedelta(hours=9, minutes=30)),
    ZoneInfo("Europe/Paris"),
]
TIMES = st.lists(
    st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1), timezones=st.sampled_from(ZONES)), max_size=30
)


# The database is only read: one connection serves every example.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=TEXTS, times=TIMES)
def test_packed_arrays_read_back_as_what_was_packed(
    db: psycopg.Connection[Any], texts: list[str], times: list[datetime]
) -> None:
    row = db.execute(
        "select %b, %b::text[] = %b, %b, %b = %b",
        (
            TextArray.of([text.encode() for text in texts]),
            TextArray.of([text.encode() for text in texts]),
            texts,
            TimestamptzArray.of(times),
            TimestamptzArray.of(times),
            times,
        ),
    ).fetchone()
    assert row is not None
    assert row[0] == texts and row[1] is True
    assert row[2] == [time.astimezone(UTC) for time in times] and row[3] is True


def test_long_values_and_casts(db: psycopg.Connection[Any]) -> None:
    """Values past the table of length prefixes, and text cast to the type it spells."""
    long = "é" * 9000
    assert db.execute("select %b", (TextArray.of([b"a", long.encode()]),)).fetchone() == (["a", long],)
    uuid_text = "0b0c2e1e-6bb1-4f3e-9a4e-2f1c3d4e5f60"
    row = db.execute("select (%b::uuid[])[1]::text", (TextArray.of([uuid_text.upper().encode()]),)).fetchone()
    assert row == (uuid_text,)
