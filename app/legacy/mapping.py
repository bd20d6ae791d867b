"""The mapping file, and legacy rows turned into events.

A small TOML file says how the legacy tables map onto events: table and column
names, which status values mean cancelled, the currency when the table has
none, the time zone of the legacy DATETIME columns, value clean-up. Every field
has a default that fits the legacy schema as documented, so the file holds only
what differs (docs/switch-over.md has a full example).

Each row becomes one event candidate (a booking.created, customer.registered or
payment.captured) that is validated as anything sent to the API is: through
the API's fast path (app.fastpath) when that accepts it, through
`core.events.validate_event` otherwise, which alone writes reasons. A row that
cannot become a valid event gets every reason, each naming the legacy column it
concerns, and is quarantined by the importer.

Event ids are uuid5 names over a fixed namespace, derived from the source name,
the legacy table and key, and what the event says about the row: the same row
always gives the same ids, so a rerun, a resumed run or an overlap appends
nothing twice.
"""

from __future__ import annotations

import hashlib
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from app.fastpath import fast_value_checks, fast_values
from core.currencies import ISO_4217
from core.events import EARLIEST_EVENT_TIME, MAX_FUTURE_SKEW, Reason, ValidEvent, validate_event

# Fixed forever: every legacy event id is derived in this namespace.
EVENT_ID_NAMESPACE = uuid.UUID("5d0c7f3e-6a1b-4c55-9d1e-0b7a3c2e9f41")
# The content type of quarantined legacy rows (with ; source=...; table=...).
QUARANTINE_CONTENT_TYPE = "application/x-legacy-mysql-row"

Row = tuple[Any, ...]


class MappingError(ValueError):
    """The mapping file, or the legacy schema it describes, cannot be used."""


def event_id(source: str, table: str, key: str, what: str) -> uuid.UUID:
    """The event id of what a legacy row says: 'created', 'cancelled', 'modified:2:130.00:EUR', ..."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}:{table}:{key}:{what}")


_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes


def event_id_text(source: str, table: str, key: str, what: str) -> str:
    """str(event_id(...)), without building UUID objects: one per legacy row on the import's hot path."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + f"{source}:{table}:{key}:{what}".encode()).hexdigest()
    # RFC 4122 version 5 and variant bits, as uuid.uuid5 sets them.
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{_VARIANT[digest[16]]}{digest[17:20]}-{digest[20:32]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)


def in_utc(local: datetime, zone: tzinfo) -> datetime | None:
    """A legacy time read in its zone, as an aware UTC time; None when that is past year 9999.

    A local time that repeats is its first occurrence (fold 0), one that does not exist takes the
    offset before the change, as replace(tzinfo=zone) reads them. By arithmetic on naive times:
    replace(tzinfo=zone).astimezone(UTC) costs ten times as much (CPython 3.11), twice per row.
    UTC because comparing and formatting a UTC time costs a third of a ZoneInfo one.
    """
    try:
        return _EPOCH_UTC + (local - _EPOCH - (zone.utcoffset(local) or timedelta(0)))
    except OverflowError:
        return None


def _duration(value: Any, where: str) -> timedelta:
    if isinstance(value, int) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str) and value[:-1].isdigit() and value[-1] in "smhd":
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[value[-1]]
        return timedelta(**{unit: int(value[:-1])})
    raise MappingError(f"{where}: {value!r} is not a duration such as 10m, 2h or 600 (seconds)")


class _Template:
    """An id template such as 'legacy-{key}', filled with one legacy value."""

    def __init__(self, template: str, placeholder: str, where: str) -> None:
        marker = "{" + placeholder + "}"
        if template.count(marker) != 1 or template.replace(marker, "").count("{"):
            raise MappingError(f"{where}: {template!r} must contain {marker} exactly once and no other braces")
        self.template = template
        self.prefix, self.suffix = template.split(marker)

    def __call__(self, value: Any) -> str:
        return f"{self.prefix}{value}{self.suffix}"

    def parse(self, text: str) -> str | None:
        """The legacy value an id was made from, or None when the id is not of this template."""
        if (
            len(text) > len(self.prefix) + len(self.suffix)
            and text.startswith(self.prefix)
            and text.endswith(self.suffix)
        ):
            return text[len(self.prefix) : len(text) - len(self.suffix)]
        return None


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if value is False:
        return {"enabled": False}
    if not isinstance(value, dict):
        raise MappingError(f"[{name}] must be a table")
    return value


def _strings(raw: dict[str, Any], where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise MappingError(f"[{where}] must map names to strings")
    return {str(k): v for k, v in raw.items()}


def _known(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise MappingError(
            f"[{where}]: unknown setting {', '.join(sorted(unknown))}; known: {', '.join(sorted(allowed))}"
        )


@dataclass
class TableSpec:
    """What the mapping file says about one legacy table (before it is checked against MySQL)."""

    kind: str  # bookings, customers or payments
    table: str
    key: str
    # A column; None: updated_at when the table has it, else the key.
    watermark: str | None
    overlap: Any  # as written: a duration for a time watermark, a number of keys for the key
    columns: dict[str, str]  # field -> legacy column
    optional: frozenset[str]  # fields that may be absent from the legacy table
    enabled: bool = True
    explicit: bool = False  # named in the file: it must exist


@dataclass
class Mapping:
    source: str = "legacy"
    timezone: str = "UTC"
    zone: tzinfo = UTC
    # 10,000: 21.9-23.0 s for make bench's 10^6 rows, against 24.3-25.0 s with 5,000 or 7,500 and
    # 23.3-23.7 s with 20,000 (fewer commits; distinct values checked once per batch).
    batch_size: int = 10000
    booking_id: _Template = field(default_factory=lambda: _Template("legacy-{key}", "key", "booking_id"))
    customer_id: _Template = field(default_factory=lambda: _Template("{customer_id}", "customer_id", "customer_id"))
    currency: str | None = None
    max_amount: Decimal | None = None
    confirmed: frozenset[str] = frozenset({"confirmed", "pending", "completed", "paid", "active"})
    cancelled: frozenset[str] = frozenset({"cancelled", "canceled"})
    unknown_status: str = "quarantine"  # or "confirmed"
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    tables: dict[str, TableSpec] = field(default_factory=dict)

    def id_of(self, table: str, key: str, what: str) -> uuid.UUID:
        return event_id(self.source, table, key, what)

    def id_text(self, table: str, key: str, what: str) -> str:
        return event_id_text(self.source, table, key, what)


_BOOKING_FIELDS = {
    "customer_id": "customer_id",
    "created_at": "created_at",
    "total_amount": "total_amount",
    "destination": "destination",
    "booking_type": "booking_type",
    "status": "status",
    "updated_at": "updated_at",
    "currency": "currency",
    "channel": "channel",
}
_CUSTOMER_FIELDS = {
    "registered_at": "created_at",
    "country": "country",
    "channel": "channel",
    "updated_at": "updated_at",
}
_PAYMENT_FIELDS = {
    "booking_key": "booking_id",
    "amount": "amount",
    "currency": "currency",
    "paid_at": "paid_at",
    "updated_at": "updated_at",
}
_OPTIONAL = {
    "bookings": frozenset({"currency", "channel", "updated_at"}),
    "customers": frozenset({"country", "channel", "updated_at"}),
    "payments": frozenset({"currency", "updated_at"}),
}
_FIELDS = {"bookings": _BOOKING_FIELDS, "customers": _CUSTOMER_FIELDS, "payments": _PAYMENT_FIELDS}


def load_mapping(path: Path | None) -> Mapping:
    """The mapping of a TOML file, or the defaults when there is none."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise MappingError(f"{path}: {error}") from None
    return parse_mapping(raw)


def parse_mapping(raw: dict[str, Any]) -> Mapping:
    _known(raw, {"source", "timezone", "batch_size", "bookings", "customers", "payments"}, "top level")
    mapping = Mapping()
    mapping.source = str(raw.get("source", mapping.source))
    if not mapping.source or ":" in mapping.source:
        raise MappingError("source: must be a non-empty name without ':'")
    mapping.timezone = str(raw.get("timezone", "UTC"))
    try:
        mapping.zone = ZoneInfo(mapping.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"timezone: {mapping.timezone!r} is not an IANA time zone such as Europe/London") from None
    batch_size = raw.get("batch_size", mapping.batch_size)
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 100000:
        raise MappingError("batch_size: must be a whole number from 1 to 100000")
    mapping.batch_size = batch_size

    bookings = _table(raw, "bookings")
    _known(
        bookings,
        {"table", "key", "watermark", "overlap", "booking_id", "customer_id", "currency", "max_amount", "columns"}
        | {"status", "values"},
        "bookings",
    )
    if "booking_id" in bookings:
        mapping.booking_id = _Template(str(bookings["booking_id"]), "key", "bookings.booking_id")
    if "customer_id" in bookings:
        mapping.customer_id = _Template(str(bookings["customer_id"]), "customer_id", "bookings.customer_id")
    if "currency" in bookings:
        currency = str(bookings["currency"])
        if currency not in ISO_4217:
            raise MappingError(f"bookings.currency: {currency!r} is not an ISO 4217 code such as EUR")
        mapping.currency = currency
    if "max_amount" in bookings:
        try:
            mapping.max_amount = Decimal(str(bookings["max_amount"]))
        except InvalidOperation:
            raise MappingError(f"bookings.max_amount: {bookings['max_amount']!r} is not a number") from None
    status = bookings.get("status", {})
    if not isinstance(status, dict):
        raise MappingError("[bookings.status] must be a table")
    _known(status, {"confirmed", "cancelled", "unknown"}, "bookings.status")
    for name in ("confirmed", "cancelled"):
        if name in status:
            values = status[name]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise MappingError(f"bookings.status.{name}: must be a list of strings")
            setattr(mapping, name, frozenset(v.strip().lower() for v in values))
    if mapping.confirmed & mapping.cancelled:
        raise MappingError(
            f"bookings.status: {sorted(mapping.confirmed & mapping.cancelled)} both confirmed and cancelled"
        )
    mapping.unknown_status = str(status.get("unknown", "quarantine"))
    if mapping.unknown_status not in ("quarantine", "confirmed"):
        raise MappingError("bookings.status.unknown: must be quarantine or confirmed")
    values = bookings.get("values", {})
    if not isinstance(values, dict):
        raise MappingError("[bookings.values] must be a table")
    _known(values, {"destination", "booking_type", "channel", "currency"}, "bookings.values")
    mapping.values = {name: _strings(table, f"bookings.values.{name}") for name, table in values.items()}

    for kind, defaults in _FIELDS.items():
        section = _table(raw, kind)
        explicit = kind in raw and raw[kind] is not False
        if kind != "bookings":
            _known(section, {"enabled", "table", "key", "watermark", "overlap", "columns"}, kind)
        columns = {**defaults, **_strings(section.get("columns", {}), f"{kind}.columns")}
        unknown = set(columns) - set(defaults)
        if unknown:
            raise MappingError(
                f"[{kind}.columns]: unknown field {', '.join(sorted(unknown))}; known: {', '.join(defaults)}"
            )
        key = str(section.get("key", "id"))
        watermark = str(section["watermark"]) if "watermark" in section else None
        overlap = section.get("overlap")
        mapping.tables[kind] = TableSpec(
            kind=kind,
            table=str(section.get("table", kind)),
            key=key,
            watermark=watermark,
            overlap=overlap,
            columns=columns,
            optional=_OPTIONAL[kind],
            enabled=bool(section.get("enabled", True)),
            explicit=explicit,
        )
    return mapping


class Bound:
    """One legacy table's mapping checked against its actual columns: ready to turn rows into events."""

    def __init__(self, mapping: Mapping, spec: TableSpec, column_types: dict[str, str]) -> None:
        self.mapping = mapping
        self.spec = spec
        self.kind = spec.kind
        self.table = spec.table
        missing = [
            f"{name} (column {column})"
            for name, column in spec.columns.items()
            if column not in column_types and name not in spec.optional
        ]
        watermark = spec.watermark
        if watermark is None:
            updated_at = spec.columns.get("updated_at")
            watermark = updated_at if updated_at in column_types else spec.key
        self.watermark = watermark
        for column in dict.fromkeys((spec.key, watermark)):
            if column not in column_types:
                missing.append(column)
        if missing:
            raise MappingError(
                f"table {spec.table} has no column for {', '.join(missing)}; its columns are "
                f"{', '.join(column_types) or '(none: no such table)'}; map them under [{spec.kind}.columns]"
            )
        # Fields whose column exists, and the columns read, key and watermark first.
        self.fields = {name: column for name, column in spec.columns.items() if column in column_types}
        read = [spec.key, watermark, *self.fields.values()]
        self.columns: list[str] = list(dict.fromkeys(read))
        self.position = {column: index for index, column in enumerate(self.columns)}
        self.at = {name: self.position[column] for name, column in self.fields.items()}
        self.column_types = column_types
        self.watermark_index = self.position[watermark]
        # TIMESTAMP columns come back in UTC (the session's zone); DATETIME as written, in the legacy zone.
        self.zones = {
            column: (UTC if column_types[column] == "timestamp" else mapping.zone)
            for column in self.columns
            if column_types[column] in ("datetime", "timestamp")
        }
        self.watermark_is_time = watermark in self.zones
        if not self.watermark_is_time and watermark != spec.key:
            raise MappingError(f"{spec.kind}.watermark: {watermark} must be a DATETIME/TIMESTAMP column or the key")
        self.overlap: timedelta | int
        if self.watermark_is_time:
            self.overlap = _duration(spec.overlap if spec.overlap is not None else "10m", f"{spec.kind}.overlap")
        elif spec.overlap is None or (isinstance(spec.overlap, int) and spec.overlap >= 0):
            self.overlap = 1000 if spec.overlap is None else spec.overlap
        else:
            raise MappingError(f"{spec.kind}.overlap: with the key as watermark, a number of keys such as 1000")
        if self.kind == "bookings" and "currency" not in self.fields and mapping.currency is None:
            raise MappingError(
                f'table {spec.table} has no currency column: set currency = "EUR" (or the right code) under '
                "[bookings], or map [bookings.columns] currency"
            )

    def row_key(self, row: Row) -> str:
        return str(row[0])

    def watermark_of(self, row: Row) -> Any:
        return row[self.watermark_index]

    def raw_json(self, row: Row) -> dict[str, Any]:
        """The row as JSON-able values under its legacy column names, for quarantine."""
        return {column: _plain(value) for column, value in zip(self.columns, row, strict=True)}

    def time(self, row: Row, name: str, reasons: list[Reason]) -> datetime | None:
        """A time column as an aware datetime in UTC, or a reason."""
        index = self.at.get(name)
        if index is None:
            return None
        value = row[index]
        column = self.columns[index]
        if value is None:
            reasons.append(Reason(field=column, message="is NULL"))
            return None
        if not isinstance(value, datetime):
            reasons.append(Reason(field=column, message=f"{value!r} is not a date and time"))
            return None
        utc = in_utc(value, self.zones[column])
        if utc is None:
            reasons.append(Reason(field=column, message=f"{value!r} is beyond the last time there is in UTC"))
        return utc

    def text(self, row: Row, name: str, reasons: list[Reason] | None) -> str | None:
        """A text value trimmed and cleaned up by [bookings.values]; a reason when required and missing."""
        index = self.at.get(name)
        if index is None:
            return None
        value = row[index]
        text = None if value is None else str(value).strip()
        if text:
            replaced = self.mapping.values.get(name)
            if replaced:
                text = replaced.get(text, text)
            return text
        if reasons is not None:
            reasons.append(Reason(field=self.columns[index], message="is NULL" if value is None else "is empty"))
        return None

    def amount(self, row: Row, name: str, reasons: list[Reason]) -> Decimal | None:
        index = self.at[name]
        value = row[index]
        column = self.columns[index]
        if value is None:
            reasons.append(Reason(field=column, message="is NULL"))
            return None
        try:
            amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            reasons.append(Reason(field=column, message=f"{value!r} is not a number"))
            return None
        if not amount.is_finite():
            reasons.append(Reason(field=column, message=f"{value!r} is not a number"))
            return None
        if amount < 0:
            reasons.append(Reason(field=column, message=f"{amount} is negative"))
        elif self.mapping.max_amount is not None and amount > self.mapping.max_amount:
            reasons.append(
                Reason(field=column, message=f"{amount} is more than max_amount {self.mapping.max_amount} (absurd)")
            )
        return amount

    def currency_of(self, row: Row, reasons: list[Reason]) -> str | None:
        if "currency" in self.at:
            code = self.text(row, "currency", None)
            if code is None:
                if self.mapping.currency is not None:
                    return self.mapping.currency
                self.text(row, "currency", reasons)
                return None
            code = code.upper()
            if code not in ISO_4217:
                reasons.append(
                    Reason(field=self.fields["currency"], message=f"{code!r} is not an ISO 4217 currency code")
                )
            return code
        return self.mapping.currency

    def checked(
        self, event_id: str, type_: str, occurred_at: datetime | None, data: dict[str, Any], reasons: list[Reason]
    ) -> RowEvent | None:
        """The event validated as the API validates it; its reasons, under legacy column names, otherwise."""
        if not reasons and occurred_at is not None and fast_values(event_id, type_, occurred_at, data):
            # The API's fast-path checks on the values themselves: the full path (pydantic) and a JSON
            # round trip through the fast path took half of the import's main thread (py-spy).
            return RowEvent(event_id, type_, occurred_at, data)
        candidate = {
            "event_id": event_id,
            "type": type_,
            "occurred_at": occurred_at.isoformat() if occurred_at is not None else None,
            "data": data,
        }
        checked = validate_event(candidate)
        if isinstance(checked, ValidEvent) and not reasons:
            return RowEvent(event_id, type_, checked.occurred_at, checked.data)
        if isinstance(checked, list):
            named = {reason.field for reason in reasons}
            for reason in checked:
                column = self.column_of(reason.field)
                if column not in named:
                    reasons.append(Reason(field=column, message=f"{reason.message} ({type_} {reason.field})"))
        return None

    def column_of(self, event_field: str) -> str:
        """The legacy column an event field comes from, for reasons."""
        name = event_field.removeprefix("data.").split(".")[0]
        if name == "occurred_at":
            name = {"bookings": "created_at", "customers": "registered_at", "payments": "paid_at"}[self.kind]
        elif name == "booking_id" and self.kind == "payments":
            name = "booking_key"
        elif (name == "booking_id" and self.kind == "bookings") or (name == "customer_id" and self.kind == "customers"):
            return self.spec.key
        return self.fields.get(name, event_field)


_encoder = msgspec.json.Encoder()


def json_text(value: Any) -> str:
    """JSON text for the write contract and the row states.

    msgspec: json.dumps took 11% of the import's main thread (py-spy, 200k rows).
    """
    return _encoder.encode(value).decode()


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (int, str, bool)):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    return str(value)


class RowEvent(msgspec.Struct, frozen=True, rename={"event_id": "i", "type": "t", "occurred_at": "o", "data": "d"}):
    """A legacy row's event, valid as the API would take it.

    Encoded as the write contract's {"i", "t", "o", "d"}: a batch's events in one call to msgspec
    (which also writes occurred_at, RFC 3339), a quarter of the time of a dict and a call per event.
    """

    event_id: str
    type: str
    occurred_at: datetime
    # As stored: amounts are exact decimal text, as the API stores "120.50".
    data: dict[str, Any]


@dataclass(slots=True)
class Mapped:
    """A legacy row as the importer needs it: its event candidate, or why it cannot be one."""

    key: str
    ordinal: int
    watermark: Any
    row: Row
    event: RowEvent | None
    reasons: list[Reason]
    booking_id: str | None = None
    total: Decimal | None = None
    # The total as exact decimal text, as events and row states store it.
    total_text: str | None = None
    currency: str | None = None
    cancelled: bool = False
    # When the row last changed (updated_at), for a modification or cancellation; else None.
    changed_at: datetime | None = None
    # A cancelled booking row's booking.cancelled (or why it cannot be one), for its first import.
    cancellation: RowEvent | list[Reason] | None = None


def _event_id_suffix(ordinal: int) -> str:
    return "" if ordinal == 0 else f":{ordinal}"


def _amount_text(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount, "f")


def map_booking(bound: Bound, row: Row, ordinal: int = 0) -> Mapped:
    """A bookings row: its booking.created, its total, currency and whether it is cancelled."""
    m = bound.mapping
    key = str(row[0])
    reasons: list[Reason] = []
    created_at = bound.time(row, "created_at", reasons)
    total = bound.amount(row, "total_amount", reasons)
    currency = bound.currency_of(row, reasons)
    status_raw = row[bound.at["status"]]
    status = None if status_raw is None else str(status_raw).strip().lower()
    cancelled = status in m.cancelled
    if not cancelled and status not in m.confirmed and m.unknown_status == "quarantine":
        reasons.append(
            Reason(
                field=bound.fields["status"],
                message=f"{status_raw!r} is not a known status (add it to [bookings.status] confirmed or cancelled)",
            )
        )
    customer = row[bound.at["customer_id"]]
    if customer is None or not str(customer).strip():
        bound.text(row, "customer_id", reasons)
    booking_id = m.booking_id(key)
    total_text = _amount_text(total)
    data: dict[str, Any] = {
        "booking_id": booking_id,
        "customer_id": None if customer is None else m.customer_id(str(customer).strip()),
        "destination": bound.text(row, "destination", reasons),
        "booking_type": bound.text(row, "booking_type", reasons),
        "total_amount": total_text,
        "currency": currency,
    }
    if "channel" in bound.at and (channel := bound.text(row, "channel", None)) is not None:
        data["channel"] = channel
    event_id = m.id_text(bound.table, key, "created" + _event_id_suffix(ordinal))
    event = bound.checked(event_id, "booking.created", created_at, data, reasons)
    changed_at = None
    if "updated_at" in bound.at:
        updated = row[bound.at["updated_at"]]
        if isinstance(updated, datetime):
            changed_at = in_utc(updated, bound.zones[bound.fields["updated_at"]])
    mapped = Mapped(
        key=key,
        ordinal=ordinal,
        watermark=row[bound.watermark_index],
        row=row,
        event=event,
        reasons=reasons,
        booking_id=booking_id,
        total=total,
        total_text=total_text,
        currency=currency,
        cancelled=cancelled,
        changed_at=changed_at,
    )
    if event is not None and cancelled and ordinal == 0:
        mapped.cancellation = change_event(bound, mapped, "cancelled", change_time(mapped), {"booking_id": booking_id})
    return mapped


class _Refused:
    """A value map_bookings leaves to map_booking."""


_REFUSED = _Refused()


def map_bookings(bound: Bound, rows: list[Row]) -> list[Mapped]:
    """map_booking(bound, row) for each row of a batch (first copies, ordinal 0), made faster.

    Columns with few distinct values (destination, booking type, status, currency, channel) are
    cleaned up and checked once per value and batch instead of once per row, and a row is checked by
    the fast path's rules (fast_values) field by field as it is built. A row that any check refuses,
    or that holds a value of an unexpected kind, is mapped by map_booking, which alone writes reasons:
    so this gives what map_booking gives (tests/test_legacy_mapping.py checks that on messy rows).
    Profiled: map_booking was 60% of the import's main thread; 10.6 against 8.0 us a clean row.
    """
    at = bound.at
    if any(name not in at for name in ("created_at", "total_amount", "status", "customer_id")):
        return [map_booking(bound, row) for row in rows]
    m = bound.mapping
    checks = fast_value_checks("booking.created")
    identifier, _ = checks["booking_id"]
    amount_ok, _ = checks["total_amount"]
    currency_ok, _ = checks["currency"]
    created_index, total_index, status_index, customer_index = (
        at["created_at"],
        at["total_amount"],
        at["status"],
        at["customer_id"],
    )
    created_zone = bound.zones.get(bound.columns[created_index], UTC)
    updated_index = at.get("updated_at")
    updated_zone = bound.zones.get(bound.fields["updated_at"], UTC) if updated_index is not None else UTC
    latest = datetime.now(UTC) + MAX_FUTURE_SKEW
    max_amount = m.max_amount
    table = bound.table

    def cleaned(name: str) -> Callable[[Row], str | _Refused | None]:
        """A text column's values as map_booking sends them (None: absent), or _REFUSED; once per value."""
        index = at.get(name)
        check, _ = checks[name]
        memo: dict[Any, str | _Refused | None] = {}

        def value(row: Row) -> str | _Refused | None:
            raw = None if index is None else row[index]
            try:
                return memo[raw]
            except KeyError:
                pass
            text = None if index is None else bound.text(row, name, None)
            if name == "currency":  # as Bound.currency_of
                text = m.currency if text is None else text.upper()
            refused = (text is None and name == "currency") or (text is not None and not check(text))
            memo[raw] = _REFUSED if refused else text
            return memo[raw]

        return value

    destination_of, booking_type_of, channel_of = cleaned("destination"), cleaned("booking_type"), cleaned("channel")
    currency_of = cleaned("currency")
    statuses: dict[Any, bool | _Refused] = {}
    mapped: list[Mapped] = []
    for row in rows:
        created = row[created_index]
        total = row[total_index]
        customer = row[customer_index]
        status_raw = row[status_index]
        cancelled = statuses.get(status_raw)
        if cancelled is None:
            status = None if status_raw is None else str(status_raw).strip().lower()
            cancelled = status in m.cancelled
            if not cancelled and status not in m.confirmed and m.unknown_status == "quarantine":
                cancelled = _REFUSED
            statuses[status_raw] = cancelled
        destination, booking_type, currency, channel = (
            destination_of(row),
            booking_type_of(row),
            currency_of(row),
            channel_of(row),
        )
        if (
            isinstance(cancelled, _Refused)
            or type(created) is not datetime
            or type(total) is not Decimal
            or customer is None
            or not isinstance(destination, str)
            or not isinstance(booking_type, str)
            or not isinstance(currency, str)
            or isinstance(channel, _Refused)
            or not total.is_finite()
            or total < 0
            or (max_amount is not None and total > max_amount)
        ):
            mapped.append(map_booking(bound, row))
            continue
        occurred_at = in_utc(created, created_zone)
        total_text = format(total, "f")
        key = str(row[0])
        booking_id = m.booking_id(key)
        customer_text = str(customer).strip()
        customer_id = m.customer_id(customer_text)
        if (
            occurred_at is None
            or not EARLIEST_EVENT_TIME <= occurred_at <= latest
            or not customer_text
            or not amount_ok(total_text)
            or not identifier(booking_id)
            or not identifier(customer_id)
            or not currency_ok(currency)
        ):
            mapped.append(map_booking(bound, row))
            continue
        data: dict[str, Any] = {
            "booking_id": booking_id,
            "customer_id": customer_id,
            "destination": destination,
            "booking_type": booking_type,
            "total_amount": total_text,
            "currency": currency,
        }
        if channel is not None:
            data["channel"] = channel
        event = RowEvent(m.id_text(table, key, "created"), "booking.created", occurred_at, data)
        updated = None if updated_index is None else row[updated_index]
        one = Mapped(
            key=key,
            ordinal=0,
            watermark=row[bound.watermark_index],
            row=row,
            event=event,
            reasons=[],
            booking_id=booking_id,
            total=total,
            total_text=total_text,
            currency=currency,
            cancelled=cancelled,
            changed_at=in_utc(updated, updated_zone) if isinstance(updated, datetime) else None,
        )
        if cancelled:
            # Its booking id is checked already, and its time is no earlier than the creation's.
            cancelled_at = change_time(one)
            one.cancellation = (
                RowEvent(
                    m.id_text(table, key, "cancelled"), "booking.cancelled", cancelled_at, {"booking_id": booking_id}
                )
                if cancelled_at <= latest
                else change_event(bound, one, "cancelled", cancelled_at, {"booking_id": booking_id})
            )
        mapped.append(one)
    return mapped


def map_customer(bound: Bound, row: Row, ordinal: int = 0) -> Mapped:
    """A customers row: its customer.registered."""
    m = bound.mapping
    key = str(row[0])
    reasons: list[Reason] = []
    registered_at = bound.time(row, "registered_at", reasons)
    data: dict[str, Any] = {"customer_id": m.customer_id(key)}
    for name in ("country", "channel"):
        if name in bound.at and (value := bound.text(row, name, None)) is not None:
            data[name] = value
    event_id = m.id_text(bound.table, key, "registered" + _event_id_suffix(ordinal))
    event = bound.checked(event_id, "customer.registered", registered_at, data, reasons)
    mapped = Mapped(
        key=key, ordinal=ordinal, watermark=row[bound.watermark_index], row=row, event=event, reasons=reasons
    )
    return mapped


def map_payment(bound: Bound, row: Row, ordinal: int = 0) -> Mapped:
    """A payments row: its payment.captured, for the booking its booking key names."""
    m = bound.mapping
    key = str(row[0])
    reasons: list[Reason] = []
    paid_at = bound.time(row, "paid_at", reasons)
    amount = bound.amount(row, "amount", reasons)
    currency = bound.currency_of(row, reasons)
    booking_key = bound.text(row, "booking_key", reasons)
    data: dict[str, Any] = {
        "booking_id": None if booking_key is None else m.booking_id(booking_key),
        "amount": _amount_text(amount),
        "currency": currency,
    }
    event_id = m.id_text(bound.table, key, "captured" + _event_id_suffix(ordinal))
    event = bound.checked(event_id, "payment.captured", paid_at, data, reasons)
    mapped = Mapped(
        key=key, ordinal=ordinal, watermark=row[bound.watermark_index], row=row, event=event, reasons=reasons
    )
    return mapped


MAPPERS = {"bookings": map_booking, "customers": map_customer, "payments": map_payment}


def map_rows(bound: Bound, rows: list[Row]) -> list[Mapped]:
    """Each row's Mapped, as the first copy of its key (ordinal 0)."""
    if bound.kind == "bookings":
        return map_bookings(bound, rows)
    mapper = MAPPERS[bound.kind]
    return [mapper(bound, row) for row in rows]


def change_time(mapped: Mapped) -> datetime:
    """When a booking row's change happened: its updated_at, never before its creation."""
    assert mapped.event is not None
    created_at = mapped.event.occurred_at
    return max(created_at, mapped.changed_at) if mapped.changed_at is not None else created_at


def change_event(
    bound: Bound, mapped: Mapped, what: str, occurred_at: datetime, data: dict[str, Any]
) -> RowEvent | list[Reason]:
    """A booking.modified or booking.cancelled for a row, validated; the reasons under legacy names otherwise."""
    kind = "booking.cancelled" if what == "cancelled" else "booking.modified"
    reasons: list[Reason] = []
    event = bound.checked(bound.mapping.id_text(bound.table, mapped.key, what), kind, occurred_at, data, reasons)
    return event if event is not None else reasons
