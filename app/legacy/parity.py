"""`pulse parity`: the legacy nightly queries on MySQL beside the views that
mirror them, for the same days, with every difference explained or flagged.

Compared: the legacy nightly report (sql/legacy/mysql.sql legacy_daily_report)
with analytics.legacy_daily_report per day, and the legacy customer analytics
(legacy_customer_analytics) with analytics.legacy_customer_analytics for the
customers who booked in those days. Where a day or a customer differs, its
rows are reconciled one by one with what the import made of them
(pulse.legacy_rows) and what Booking Pulse holds (analytics.bookings):

- explained: a row quarantined (with its reasons), a duplicate row refused by
  the write contract, a row not imported yet (after the import's watermark), a
  total modified after creation (the legacy query sums the current total, the
  view the total at creation), a row deleted or moved to another day in the
  legacy table after its import, a booking live traffic created first;
- unexplained: a booking only Booking Pulse has, a row imported but missing
  from the views, and any difference left once the explained ones are taken
  into account.

The report is clean (exit code 0) when every difference is explained.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from app.legacy.importer import pulse_query
from app.legacy.mapping import Bound, Mapped, Mapping, map_booking
from app.legacy.source import LegacySource, Row, legacy_query

PROJECTIONS = ("bookings", "customers")


class ParityError(Exception):
    """Parity cannot run (no such table, mapping does not fit, ...)."""


@dataclass
class Finding:
    """One reason the two sides differ, and by how much it moves Booking Pulse's figures from the legacy ones."""

    what: str
    explained: bool
    bookings: int = 0
    amount: Decimal = Decimal(0)


@dataclass
class Figures:
    bookings: int
    amount: Decimal
    third: Any  # the average (days) or the last booking time (customers)


@dataclass
class Line:
    key: str  # a day or a customer id
    legacy: Figures | None
    pulse: Figures | None
    findings: list[Finding] = field(default_factory=list)
    residual: str | None = None

    @property
    def same(self) -> bool:
        return _same(self.legacy, self.pulse)

    @property
    def explained(self) -> bool:
        return not self.same and self.residual is None and all(f.explained for f in self.findings)

    @property
    def status(self) -> str:
        if self.same and not any(not f.explained for f in self.findings):
            return "same"
        return "explained" if self.explained else "UNEXPLAINED"


def _same(a: Figures | None, b: Figures | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.bookings, a.amount, a.third) == (b.bookings, b.amount, b.third)


@dataclass
class Report:
    title: str
    days: list[Line]
    customers: list[Line]
    notes: list[str]
    problems: list[str]

    @property
    def clean(self) -> bool:
        return not self.problems and all(line.status != "UNEXPLAINED" for line in self.days + self.customers)

    def text(self) -> str:
        out = [self.title, ""]
        out += [f"note: {note}" for note in self.notes]
        out += [f"PROBLEM: {problem}" for problem in self.problems]
        if self.notes or self.problems:
            out.append("")
        out.append("legacy nightly report (MySQL) | analytics.legacy_daily_report (Booking Pulse)")
        out.append(_header("day"))
        for line in self.days:
            out += _line(line, _average)
        out.append("")
        out.append("legacy customer analytics (MySQL) | analytics.legacy_customer_analytics (Booking Pulse)")
        differing = [line for line in self.customers if line.status != "same"]
        out.append(f"{len(self.customers)} customers who booked in those days; those that differ:")
        if differing:
            out.append(_header("customer"))
        for line in differing:
            out += _line(line, _moment)
        out.append("")
        out.append(self.summary())
        return "\n".join(out) + "\n"

    def summary(self) -> str:
        def tally(lines: list[Line]) -> str:
            counts = Counter(line.status for line in lines)
            return ", ".join(f"{counts[s]} {s.lower()}" for s in ("same", "explained", "UNEXPLAINED"))

        verdict = "every difference is explained" if self.clean else "UNEXPLAINED differences remain"
        return (
            f"parity: {len(self.days)} days ({tally(self.days)}); "
            f"{len(self.customers)} customers ({tally(self.customers)}): {verdict}"
        )


def _average(value: Any) -> str:
    return "" if value is None else f"{value:.6f}"


def _moment(value: Any) -> str:
    return "" if value is None else value.isoformat(sep=" ")


def _header(what: str) -> str:
    return (
        f"{what:<12} {'bookings':>8} {'revenue':>14} {'average/last':>26} | "
        f"{'bookings':>8} {'revenue':>14} {'average/last':>26} | difference"
    )


def _cells(figures: Figures | None, third: Any) -> str:
    if figures is None:
        return f"{'-':>8} {'-':>14} {'-':>26}"
    return f"{figures.bookings:>8} {figures.amount:>14} {third(figures.third):>26}"


def _line(line: Line, third: Any) -> list[str]:
    out = [f"{line.key:<12} {_cells(line.legacy, third)} | {_cells(line.pulse, third)} | {line.status}"]
    for finding in line.findings:
        effect = []
        if finding.bookings:
            effect.append(f"{finding.bookings:+d} bookings")
        if finding.amount:
            effect.append(f"{finding.amount:+} revenue")
        marker = "-" if finding.explained else "! UNEXPLAINED:"
        out.append(f"    {marker} {finding.what}" + (f" ({', '.join(effect)})" if effect else ""))
    if line.residual:
        out.append(f"    ! UNEXPLAINED: {line.residual}")
    return out


@dataclass
class _Booking:
    booking_id: str
    customer_id: str
    created_at: datetime
    created_total: Decimal
    current_total: Decimal
    status: str


class _Parity:
    def __init__(self, database_url: str, legacy_url: str, mapping: Mapping, first: date, last: date) -> None:
        self.pg = psycopg.connect(database_url, autocommit=True)
        self.source = LegacySource(legacy_url)
        self.mapping = mapping
        self.first, self.last = first, last
        spec = mapping.tables["bookings"]
        columns = self.source.columns(spec.table)
        if not columns:
            raise ParityError(f"no table {spec.table} in {self.source.url.redacted()}")
        self.bound = Bound(mapping, spec, columns)
        self.zone = ZoneInfo(mapping.timezone)
        self.names = {"source": mapping.source, "legacy_table": spec.table}
        self.watermark: str | None = None
        # pulse.legacy_imports.id of the table, which keys its pulse.legacy_rows; None before any import.
        self.import_id: int | None = None
        self.notes: list[str] = []
        self.problems: list[str] = []

    def close(self) -> None:
        self.pg.close()
        self.source.close()

    def q(self, name: str, **identifiers: Any) -> str:
        spec = self.bound.spec
        fields = self.bound.fields
        return legacy_query(
            name,
            bookings=spec.table,
            table=spec.table,
            key=spec.key,
            columns=self.bound.columns,
            created_at=fields["created_at"],
            total_amount=fields["total_amount"],
            customer_id=fields["customer_id"],
            **identifiers,
        )

    # --- preconditions -------------------------------------------------------------------------

    def check_setup(self, wait: float) -> None:
        row = self.pg.execute(pulse_query("parity_business_settings")).fetchone()
        business_zone = row[0] if row else "UTC"
        if business_zone != self.mapping.timezone:
            self.problems.append(
                f"the business time zone is {business_zone} but the legacy time zone is {self.mapping.timezone}: "
                f"days are cut differently; set PULSE_TIMEZONE={self.mapping.timezone} and restart pulse serve"
            )
        positions = {row[0]: row for row in self.pg.execute(pulse_query("import_positions"), self.names).fetchall()}
        position = positions.get(self.bound.table)
        if position is None:
            self.problems.append(f"pulse import has not run for {self.mapping.source} {self.bound.table}")
        else:
            self.watermark, self.import_id = position[2], position[9]
            self.notes.append(
                f"import of {self.bound.table}: watermark {position[2]} on {position[1]}, "
                f"last pass finished {position[8]:%Y-%m-%d %H:%M:%S %Z}"
                if position[8]
                else f"import of {self.bound.table}: watermark {position[2]}, no pass finished yet"
            )
        end = self.pg.execute(pulse_query("parity_log_end")).fetchone()
        if end is None:
            return
        deadline = time.monotonic() + wait
        while True:
            behind = [
                row[0]
                for row in self.pg.execute(
                    pulse_query("parity_projections_behind"),
                    {"projections": list(PROJECTIONS), "xact_id": end[0], "seq": end[1]},
                ).fetchall()
            ]
            missing = set(PROJECTIONS) - {
                row[0]
                for row in self.pg.execute(
                    pulse_query("parity_checkpoints"), {"projections": list(PROJECTIONS)}
                ).fetchall()
            }
            behind += sorted(missing)
            if not behind or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if behind:
            self.problems.append(
                f"projections {', '.join(behind)} have not applied every event yet (is pulse serve or pulse work "
                f"running?): the views lag the log"
            )

    # --- the legacy rows, numbered as the import numbered them --------------------------------------

    def mapped(self, rows: list[Row]) -> list[Mapped]:
        keys = list(dict.fromkeys(row[0] for row in rows))
        duplicated: set[str] = set()
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            duplicated |= {str(row[0]) for row in self.source.fetch(self.q("duplicate_keys"), {"keys": chunk})}
        out = [map_booking(self.bound, row) for row in rows if str(row[0]) not in duplicated]
        if duplicated:
            wanted = {id(row) for row in rows if str(row[0]) in duplicated}
            group_keys = [row[0] for row in rows if id(row) in wanted]
            seen: Counter[str] = Counter()
            in_scope = Counter(tuple(row) for row in rows if str(row[0]) in duplicated)
            for row in self.source.fetch(self.q("read_keys"), {"keys": list(dict.fromkeys(group_keys))}):
                key = str(row[0])
                ordinal = seen[key]
                seen[key] += 1
                if in_scope[tuple(row)] > 0:
                    in_scope[tuple(row)] -= 1
                    out.append(map_booking(self.bound, row, ordinal))
        return out

    def states(self, keys: list[str]) -> dict[tuple[str, int], tuple[Any, ...]]:
        found: dict[tuple[str, int], tuple[Any, ...]] = {}
        for start in range(0, len(keys), 5000):
            for row in self.pg.execute(
                pulse_query("row_states"), {"import_id": self.import_id, "keys": keys[start : start + 5000]}
            ).fetchall():
                found[(row[0], row[1])] = tuple(row)
        return found

    def bookings(self, name: str, **params: Any) -> list[_Booking]:
        return [_Booking(*row) for row in self.pg.execute(pulse_query(name), params).fetchall()]

    # --- reconciling rows ---------------------------------------------------------------------------

    def reconcile(self, legacy_rows: list[Row], pulse_bookings: list[_Booking], where: str) -> list[Finding]:
        """Why the legacy rows and Booking Pulse's bookings of one day (or customer) differ, row by row."""
        mapped = self.mapped(legacy_rows)
        states = self.states(list(dict.fromkeys(m.key for m in mapped)))
        booking_ids = list(dict.fromkeys([m.booking_id for m in mapped if m.booking_id]))
        held = {b.booking_id: b for b in self.bookings("parity_bookings_by_id", booking_ids=booking_ids)}
        findings: list[Finding] = []
        matched: set[str] = set()
        key_name = self.bound.spec.key
        for m in sorted(mapped, key=lambda m: (m.key, m.ordinal)):
            row_name = f"{key_name}={m.key}" + (f" (copy {m.ordinal + 1})" if m.ordinal else "")
            total = m.total if m.total is not None else Decimal(0)
            state = states.get((m.key, m.ordinal))
            if state is None:
                findings.append(Finding(self._not_imported(m, row_name), True, -1, -total))
                continue
            outcome, reasons = state[2], state[7]
            if outcome == "quarantined":
                why = "; ".join(f"{r['field']}: {r['message']}" for r in reasons or [])
                findings.append(Finding(f"row {row_name} quarantined: {why}", True, -1, -total))
                continue
            if outcome == "duplicate":
                findings.append(
                    Finding(
                        f"row {row_name} is a duplicate: the write contract refused booking {m.booking_id} "
                        f"a second time",
                        True,
                        -1,
                        -total,
                    )
                )
                continue
            booking = held.get(m.booking_id or "")
            if booking is None:
                findings.append(
                    Finding(
                        f"row {row_name} was imported as {m.booking_id} but the views do not show it", False, -1, -total
                    )
                )
                continue
            matched.add(booking.booking_id)
            live = " (created by live traffic)" if outcome == "live" else ""
            if where == "day" and booking.created_at.astimezone(self.zone).date() != self._legacy_day(m):
                findings.append(
                    Finding(
                        f"row {row_name}: Booking Pulse has booking {booking.booking_id}{live} on "
                        f"{booking.created_at.astimezone(self.zone).date()}: its created_at changed after the import",
                        True,
                        -1,
                        -total,
                    )
                )
                continue
            if booking.created_total != total:
                if booking.current_total == total:
                    what = (
                        f"booking {booking.booking_id}{live} modified from {booking.created_total} to {total}: the "
                        "legacy query sums the current total, the view the total at creation"
                    )
                elif state[3] is not None and state[3] != total:
                    what = (
                        f"row {row_name}: total changed in legacy from {state[3]} to {total} since the last import "
                        f"(not followed yet)"
                    )
                else:
                    # Live traffic's booking may differ; an imported one should hold the imported total.
                    what = (
                        f"booking {booking.booking_id}{live}: total {booking.created_total} at creation and "
                        f"{booking.current_total} now, {total} in legacy"
                    )
                    findings.append(Finding(what, bool(live), 0, booking.created_total - total))
                    continue
                findings.append(Finding(what, True, 0, booking.created_total - total))
        legacy_ids = {m.booking_id for m in mapped}
        others = [b for b in pulse_bookings if b.booking_id not in matched and b.booking_id not in legacy_ids]
        origins = {
            row[0]: row
            for row in self.pg.execute(
                pulse_query("parity_rows_by_booking_id"),
                {"import_id": self.import_id, "booking_ids": [b.booking_id for b in others]},
            ).fetchall()
        }
        for booking in others:
            origin = origins.get(booking.booking_id)
            if origin is None:
                findings.append(
                    Finding(
                        f"booking {booking.booking_id} is only in Booking Pulse: no legacy row made it",
                        False,
                        1,
                        booking.created_total,
                    )
                )
                continue
            present = self.source.fetch(self.q("read_keys"), {"keys": [origin[1]]})
            if present:
                what = (
                    f"booking {booking.booking_id}: its legacy row {key_name}={origin[1]} moved to another "
                    f"{'day' if where == 'day' else 'customer'} after the import"
                )
            else:
                what = (
                    f"booking {booking.booking_id}: its legacy row {key_name}={origin[1]} was deleted from "
                    f"{self.bound.table} after the import (Booking Pulse keeps it)"
                )
            findings.append(Finding(what, True, 1, booking.created_total))
        return findings

    def _legacy_day(self, m: Mapped) -> date | None:
        value = m.row[self.bound.at["created_at"]]
        return value.date() if isinstance(value, datetime) else None

    def _not_imported(self, m: Mapped, row_name: str) -> str:
        if self.watermark is not None and self.bound.watermark_is_time:
            value = m.row[self.bound.watermark_index]
            overlap = self.bound.overlap
            assert isinstance(overlap, timedelta)
            if isinstance(value, datetime) and value >= datetime.fromisoformat(self.watermark) - overlap:
                return (
                    f"row {row_name} not imported yet: its {self.bound.watermark} {value} is after the import's "
                    f"watermark {self.watermark} minus the overlap (a late row: the next pulse import or --follow "
                    "poll reads it)"
                )
            return (
                f"row {row_name} not imported: its {self.bound.watermark} is before the import's watermark by more "
                f"than the overlap (committed very late: run pulse import --full)"
            )
        return f"row {row_name} not imported yet (run pulse import)"

    # --- the two reports ------------------------------------------------------------------------

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, datetime.min.time())
        end = start + timedelta(days=1)
        return start.replace(tzinfo=self.zone), end.replace(tzinfo=self.zone)

    def days(self) -> list[Line]:
        window = {
            "from_day": datetime.combine(self.first, datetime.min.time()),
            "to_day": datetime.combine(self.last + timedelta(days=1), datetime.min.time()),
        }
        legacy = {
            row[0]: Figures(int(row[1]), Decimal(row[2] or 0), row[3])
            for row in self.source.fetch(self.q("legacy_daily_report"), window)
        }
        pulse = {
            row[0]: Figures(int(row[1]), row[2], row[3])
            for row in self.pg.execute(
                pulse_query("parity_daily_report"), {"first": self.first, "last": self.last}
            ).fetchall()
        }
        lines = []
        day = self.first
        while day <= self.last:
            line = Line(day.isoformat(), legacy.get(day), pulse.get(day))
            if not line.same:
                rows = self.source.fetch(
                    self.q("read_created_between"),
                    {
                        "from_day": datetime.combine(day, datetime.min.time()),
                        "to_day": datetime.combine(day + timedelta(days=1), datetime.min.time()),
                    },
                )
                starts_at, ends_at = self.day_bounds(day)
                created = self.bookings("parity_bookings_created_between", starts_at=starts_at, ends_at=ends_at)
                line.findings = self.reconcile(rows, created, "day")
                line.residual = self._residual_day(line, rows)
            if line.legacy is not None or line.pulse is not None:
                lines.append(line)
            day += timedelta(days=1)
        return lines

    def _residual_day(self, line: Line, rows: list[Row]) -> str | None:
        bookings = (line.legacy.bookings if line.legacy else 0) + sum(f.bookings for f in line.findings)
        amount = (line.legacy.amount if line.legacy else Decimal(0)) + sum(f.amount for f in line.findings)
        actual = line.pulse or Figures(0, Decimal(0), None)
        if (bookings, amount) != (actual.bookings, actual.amount):
            return (
                f"after the explanations Booking Pulse should have {bookings} bookings and {amount} revenue, "
                f"it has {actual.bookings} and {actual.amount}"
            )
        return None if line.findings else "the figures differ and no row explains it"

    def customers(self) -> list[Line]:
        window = {
            "from_day": datetime.combine(self.first, datetime.min.time()),
            "to_day": datetime.combine(self.last + timedelta(days=1), datetime.min.time()),
        }
        template = self.mapping.customer_id
        legacy: dict[str, Figures] = {}
        for customer, bookings, value, last in self.source.fetch(self.q("legacy_customer_analytics"), window):
            key = "NULL" if customer is None else template(str(customer).strip())
            legacy[key] = Figures(int(bookings), Decimal(value or 0), _aware(last, self.zone))
        starts_at, _ = self.day_bounds(self.first)
        _, ends_at = self.day_bounds(self.last)
        booked = [
            row[0]
            for row in self.pg.execute(
                pulse_query("parity_customers_booked_between"), {"starts_at": starts_at, "ends_at": ends_at}
            ).fetchall()
        ]
        wanted = sorted(set(legacy) - {"NULL"} | set(booked))
        pulse = {
            row[0]: Figures(int(row[1]), row[2], row[3])
            for row in self.pg.execute(pulse_query("parity_customers"), {"customers": wanted}).fetchall()
        }
        lines = [Line(key, legacy.get(key), pulse.get(key)) for key in sorted(set(legacy) | set(pulse))]
        differing = [line for line in lines if not line.same]
        for line in differing:
            if line.key == "NULL":
                rows = self.source.fetch(self.q("read_without_customer"))
                theirs: list[_Booking] = []
            else:
                legacy_id = template.parse(line.key)
                rows = self.source.fetch(self.q("read_customers"), {"customers": [legacy_id]}) if legacy_id else []
                theirs = self.bookings("parity_bookings_of_customers", customers=[line.key])
            line.findings = self.reconcile(rows, theirs, "customer")
            line.residual = self._residual_customer(line)
        return lines

    def _residual_customer(self, line: Line) -> str | None:
        bookings = (line.legacy.bookings if line.legacy else 0) + sum(f.bookings for f in line.findings)
        amount = (line.legacy.amount if line.legacy else Decimal(0)) + sum(f.amount for f in line.findings)
        actual = line.pulse or Figures(0, Decimal(0), None)
        if (bookings, amount) != (actual.bookings, actual.amount):
            return (
                f"after the explanations Booking Pulse should have {bookings} bookings worth {amount}, "
                f"it has {actual.bookings} worth {actual.amount}"
            )
        return None if line.findings else "the figures differ and no row explains it"


def _aware(value: Any, zone: ZoneInfo) -> Any:
    # In UTC: a local time in a spring-forward gap never equals another zone's time in Python.
    return value.replace(tzinfo=zone).astimezone(UTC) if isinstance(value, datetime) else value


def parity(database_url: str, legacy_url: str, mapping: Mapping, first: date, last: date, wait: float = 60.0) -> Report:
    run = _Parity(database_url, legacy_url, mapping, first, last)
    try:
        run.check_setup(wait)
        days = run.days()
        customers = run.customers()
    finally:
        run.close()
    title = (
        f"parity of {mapping.source} {run.bound.table} with Booking Pulse, {first} to {last} "
        f"(legacy time zone {mapping.timezone})"
    )
    return Report(title, days, customers, run.notes, run.problems)
