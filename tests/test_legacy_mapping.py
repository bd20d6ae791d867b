"""The import's batch mapping of bookings rows gives what the row-by-row mapping gives, for any row."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.legacy.mapping import Bound, Row, map_booking, map_bookings, parse_mapping

NOW = datetime.now(UTC).replace(tzinfo=None)
TIMES: list[Any] = [
    datetime(2024, 5, 1, 12, 0, 0),
    datetime(2025, 3, 30, 1, 30),  # does not exist in London
    datetime(2025, 10, 26, 1, 30),  # happens twice in London
    datetime(1999, 12, 31, 23, 59, 59),
    datetime(2000, 1, 1, 0, 0),
    datetime(9999, 12, 31, 23, 59, 59),
    NOW + timedelta(days=3),
    NOW - timedelta(minutes=5),
    None,
    "0000-00-00 00:00:00",
]
AMOUNTS: list[Any] = [
    Decimal("120.50"),
    Decimal("0"),
    Decimal("-0.01"),
    Decimal("9999999.99"),
    Decimal("1E+2"),
    Decimal("12.34567"),
    Decimal("123456789012345.1"),
    Decimal("NaN"),
    Decimal("Infinity"),
    7,
    "12.50",
    "abc",
    1.5,
    None,
]
TEXTS: list[Any] = [
    "Lisbon",
    "  Tokyo ",
    "",
    "  ",
    "caf\u00e9",
    "a" * 200,
    "a" * 201,
    "x\x00y",
    "\u2028",
    "tab\there",
    5,
    None,
]
STATUSES: list[Any] = ["confirmed", " CANCELLED ", "canceled", "pending", "on hold?", "", None, 3]
CURRENCIES: list[Any] = ["EUR", "eur", " gbp ", "XYZ", "", None, "€"]
CUSTOMERS: list[Any] = [7, "c-9", " ", "", None, "x" * 250, "bad\x01"]

TYPES = {
    "id": "int",
    "customer_id": "int",
    "created_at": "datetime",
    "total_amount": "decimal",
    "destination": "varchar",
    "booking_type": "varchar",
    "status": "varchar",
    "updated_at": "timestamp",
}


@st.composite
def bound_and_rows(draw: st.DrawFn) -> tuple[Bound, list[Row]]:
    bookings: dict[str, Any] = {}
    types = dict(TYPES)
    with_currency = draw(st.booleans())
    if with_currency:
        types["currency"] = "varchar"
    if not with_currency or draw(st.booleans()):
        bookings["currency"] = draw(st.sampled_from(["EUR", "GBP"]))
    if draw(st.booleans()):
        types["channel"] = "varchar"
    if draw(st.booleans()):
        bookings["max_amount"] = "100000"
    if draw(st.booleans()):
        bookings["status"] = {"unknown": "confirmed"}
    if draw(st.booleans()):
        bookings["values"] = {"destination": {"Lisbon": "LIS", "caf\u00e9": ""}, "currency": {"€": "EUR"}}
    if draw(st.booleans()):
        bookings["customer_id"] = "cust-{customer_id}"
    zone = draw(st.sampled_from(["Europe/London", "America/New_York", "Asia/Kathmandu", "UTC"]))
    mapping = parse_mapping({"source": "oldschool", "timezone": zone, "bookings": bookings})
    bound = Bound(mapping, mapping.tables["bookings"], types)
    values = {
        "customer_id": st.sampled_from(CUSTOMERS),
        "created_at": st.sampled_from(TIMES),
        "total_amount": st.sampled_from(AMOUNTS),
        "destination": st.sampled_from(TEXTS),
        "booking_type": st.sampled_from(TEXTS),
        "status": st.sampled_from(STATUSES),
        "updated_at": st.sampled_from(TIMES),
        "currency": st.sampled_from(CURRENCIES),
        "channel": st.sampled_from(TEXTS),
    }
    rows = []
    for key in range(draw(st.integers(1, 12))):
        # Mostly clean rows, as a legacy table is, with a messy value here and there.
        status = draw(st.sampled_from(["confirmed", "cancelled"]))
        row = {"id": key, "customer_id": 7, "created_at": TIMES[0], "total_amount": AMOUNTS[0], "status": status}
        row |= {"destination": "Lisbon", "booking_type": "flight", "updated_at": TIMES[1], "currency": "EUR"}
        row |= {"channel": "web"}
        for _ in range(draw(st.integers(0, 2))):
            column = draw(st.sampled_from(sorted(values)))
            row[column] = draw(values[column])
        rows.append(tuple(row[column] for column in bound.columns))
    return bound, rows


@settings(max_examples=1500, deadline=None)
@given(bound_and_rows())
def test_the_batch_mapping_of_bookings_gives_what_the_row_mapping_gives(case: tuple[Bound, list[Row]]) -> None:
    bound, rows = case
    assert map_bookings(bound, rows) == [map_booking(bound, row) for row in rows]


def test_the_batch_mapping_takes_clean_rows_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a fallback for everything: a clean row is mapped, and equal to map_booking's, without it."""
    import app.legacy.mapping as mapping_module

    mapping = parse_mapping({"source": "oldschool", "timezone": "Europe/London", "bookings": {"currency": "EUR"}})
    bound = Bound(mapping, mapping.tables["bookings"], TYPES)
    row = (1, TIMES[1], 7, TIMES[0], Decimal("120.50"), "Lisbon", "flight", "cancelled")
    expected = map_booking(bound, row)
    monkeypatch.setattr(mapping_module, "map_booking", None)
    (mapped,) = map_bookings(bound, [row])
    assert mapped == expected and mapped.event is not None and mapped.cancellation is not None
