"""SQL files: the named queries and the schema objects migrations apply."""

import re
from functools import cache
from pathlib import Path
from typing import LiteralString, cast

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

_QUERY_HEADER = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)


def parse_named(text: str) -> dict[str, LiteralString]:
    """The queries of a file of "-- name: NAME" sections, by name, in file order."""
    parts = _QUERY_HEADER.split(text)[1:]
    named = dict(zip(parts[::2], parts[1::2], strict=True))
    return {name: cast(LiteralString, body.strip()) for name, body in named.items()}


@cache
def named_queries(relative_path: str = "queries.sql") -> dict[str, LiteralString]:
    """Every query of a file of named queries under sql/."""
    return parse_named(read(relative_path))


def query(name: str) -> LiteralString:
    return named_queries()[name]


def read(relative_path: str) -> LiteralString:
    """The text of a file under sql/."""
    text: LiteralString = (SQL_DIR / relative_path).read_text()
    return text


# The analytics views and functions, in dependency order. Migrations create
# them; a replay re-creates them after swapping in rebuilt projection tables.
ANALYTICS_FILES = (
    "functions/analytics.fx_rate.sql",
    "views/pulse.bookings_hourly_reported.sql",
    "views/analytics.bookings_hourly.sql",
    "views/analytics.bookings_daily.sql",
    "views/analytics.kpis_today.sql",
    "views/analytics.top_destinations.sql",
    "views/analytics.revenue_by_booking_type.sql",
    "views/analytics.conversion_hourly.sql",
    "views/analytics.bookings.sql",
    "views/analytics.held_booking_events.sql",
    "views/analytics.customer_lifetime.sql",
    "views/analytics.legacy_daily_report.sql",
    "views/analytics.legacy_customer_analytics.sql",
    "functions/analytics.bookings_series.sql",
)


def analytics_objects() -> LiteralString:
    """One script that creates or replaces every analytics view and function."""
    script: LiteralString = "\n".join(read(path) for path in ANALYTICS_FILES)
    return script


def analytics_view_names() -> list[str]:
    """schema.name of every view ANALYTICS_FILES creates."""
    return [path.removeprefix("views/").removesuffix(".sql") for path in ANALYTICS_FILES if path.startswith("views/")]
