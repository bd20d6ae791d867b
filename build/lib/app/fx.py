"""pulse fx load: exchange rates from a CSV file into analytics.fx_rates."""

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import psycopg

from core.currencies import ISO_4217
from core.sql import query

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FxFileError(Exception):
    """The file cannot be loaded; nothing of it was."""


@dataclass(frozen=True)
class FxRate:
    currency: str
    to_currency: str | None
    valid_on: date | None
    valid_from: datetime | None
    rate: Decimal


def parse_rates(path: Path) -> list[FxRate]:
    """Reads currency,valid_from,rate[,to_currency] rows; reports every bad line at once."""
    rates, errors = [], []
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            missing = {"currency", "valid_from", "rate"} - set(reader.fieldnames or [])
            if missing:
                raise FxFileError(f"{path}: the header lacks {', '.join(sorted(missing))}")
            for row in reader:
                try:
                    rates.append(_parse_row(row))
                except ValueError as error:
                    errors.append(f"{path}:{reader.line_num}: {error}")
    except UnicodeDecodeError as error:
        raise FxFileError(f"{path}: not UTF-8 text: {error}") from None
    except csv.Error as error:
        raise FxFileError(f"{path}: not a CSV file: {error}") from None
    if errors:
        raise FxFileError("\n".join(errors))
    return rates


def _parse_row(row: dict[str, Any]) -> FxRate:
    currency = (row.get("currency") or "").strip()
    to_currency = (row.get("to_currency") or "").strip() or None
    for code in filter(None, (currency, to_currency)):
        if code not in ISO_4217:
            raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    if not currency:
        raise ValueError("currency is empty")
    try:
        rate = Decimal((row.get("rate") or "").strip())
    except InvalidOperation:
        raise ValueError(f"rate {row.get('rate')!r} is not a decimal number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"rate {rate} must be a positive number")
    text = (row.get("valid_from") or "").strip()
    if _DATE.fullmatch(text):
        return FxRate(currency, to_currency, date.fromisoformat(text), None, rate)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"valid_from {text!r} is neither a date nor an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise ValueError(f"valid_from {text!r} needs a UTC offset")
    if moment.astimezone(UTC) != moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0):
        raise ValueError(f"valid_from {text!r} must be on the hour: rates hold for whole hourly buckets")
    return FxRate(currency, to_currency, None, moment, rate)


def load_rates(database_url: str, rates: list[FxRate]) -> tuple[int, int]:
    """Loads all rates in one transaction; returns (added, corrected)."""
    added = corrected = 0
    with psycopg.connect(database_url) as conn, conn.transaction():
        for rate in rates:
            row = conn.execute(
                query("load_fx_rate"),
                {
                    "currency": rate.currency,
                    "to_currency": rate.to_currency,
                    "valid_from": rate.valid_from,
                    "valid_on": rate.valid_on,
                    "rate": rate.rate,
                },
            ).fetchone()
            assert row is not None
            if row[0]:
                added += 1
            else:
                corrected += 1
    return added, corrected
