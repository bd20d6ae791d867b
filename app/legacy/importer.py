"""`pulse import`: legacy rows into the event log, once each, resumably.

Per table (bookings, then payments and customers when present), a pass reads
the rows from the watermark on (the last one committed minus the overlap, or
everything on a first or --full pass) in watermark order, through a
server-side cursor. The main thread turns each batch of rows into events and
validates them (on a first pass, with no row states to read, it also decides
what each row appends); a writer thread, on its own PostgreSQL connection, commits
each batch in ONE transaction: the events through the write contract
`pulse.append_events`, what became of each row in `pulse.legacy_rows`, the
rejected rows in `pulse.quarantine`, and the new watermark in
`pulse.legacy_imports`. Killed at any point, a run resumes from its last
committed batch, and since event ids are derived from the rows, rows read
again append nothing twice.

What a row appends depends on what an earlier run made of it (pulse.legacy_rows):
- new: a booking.created, and a booking.cancelled when its status says so;
- imported before: a booking.modified when its total or currency changed, a
  booking.cancelled when it became cancelled, nothing when unchanged;
- quarantined before: tried again, imported once it is valid;
- a key seen more than once in the table (duplicate rows): the extra copies
  ask for the same booking id and the write contract refuses them; they are
  quarantined with the reason;
- a booking that another writer (live traffic) created first: recorded as
  live and left to that writer.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import MySQLdb
import psycopg
from psycopg.types.json import Jsonb
from tqdm import tqdm

from app.legacy.mapping import (
    MAPPERS,
    QUARANTINE_CONTENT_TYPE,
    Bound,
    Mapped,
    Mapping,
    MappingError,
    RowEvent,
    change_event,
    change_time,
    json_text,
    map_rows,
)
from app.legacy.source import LegacySource, Row, SourceError, legacy_query
from core.events import Reason
from core.sql import named_queries, query

log = logging.getLogger("pulse.legacy")

# Bookings first: payments of a booking then find it, and customers are independent.
TABLE_ORDER = ("bookings", "payments", "customers")


def pulse_query(name: str) -> Any:
    return named_queries("legacy/pulse.sql")[name]


class ImportRefused(Exception):
    """The import cannot run (another import of the same table runs, the mapping does not fit, ...)."""


@dataclass
class Tally:
    """What one table's pass did."""

    table: str
    rows: int = 0
    unchanged: int = 0
    created: int = 0
    cancellations: int = 0
    modifications: int = 0
    quarantined: int = 0
    duplicates: int = 0
    live: int = 0
    events: int = 0
    already_stored: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in (
            "rows",
            "unchanged",
            "created",
            "cancellations",
            "modifications",
            "quarantined",
            "duplicates",
            "live",
            "events",
            "already_stored",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.examples = (self.examples + other.examples)[:10]

    def line(self) -> str:
        rate = f" ({self.rows / self.seconds:.0f} rows/s)" if self.seconds > 0 and self.rows else ""
        created = {"bookings": "bookings created", "payments": "payments", "customers": "customers registered"}
        parts = [f"{self.created} {created.get(self.table, 'created')}"]
        if self.table == "bookings":
            parts += [f"{self.cancellations} cancellations", f"{self.modifications} modifications"]
        parts += [
            f"{self.quarantined} quarantined",
            f"{self.duplicates} duplicate rows",
            f"{self.live} already created by live traffic",
            f"{self.unchanged} unchanged",
        ]
        return (
            f"{self.table}: {self.rows} rows read in {self.seconds:.1f}s{rate}: {', '.join(parts)}; "
            f"{self.events} events appended"
            + (f", {self.already_stored} already in the log" if self.already_stored else "")
        )


@dataclass
class _State:
    outcome: str
    total: Any
    currency: str | None
    cancelled: bool
    modifications: int
    reasons: Any


@dataclass
class _Prepared:
    """What a batch appends and records, decided from its rows and what earlier runs made of them."""

    events: list[RowEvent]
    created_by: dict[str, Mapped]
    new_states: dict[tuple[str, int], dict[str, Any]]
    quarantine: list[tuple[Mapped, list[Reason]]]
    tally: Tally
    # The events as JSON for the write contract, and on a first pass the row states as COPY
    # text, encoded with the decisions.
    events_json: str = ""
    states_copy: bytes = b""


@dataclass
class _Batch:
    rows: list[Mapped]
    read: int
    watermark: Any
    # Decided by the reading thread when no earlier run left row states (a first pass); else by the writer.
    prepared: _Prepared | None = None


_COPY_NULL = "\\N"
# COPY's text format: a backslash escapes the backslash and the characters that end a field or a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str | None) -> str:
    if value is None:
        return _COPY_NULL
    # Tabs, newlines and carriage returns are not printable: most keys and ids have nothing to
    # escape, and these two checks cost a tenth of translate (twice a row on a first pass).
    if value.isprintable() and "\\" not in value:
        return value
    return value.translate(_COPY_ESCAPES)


def _reasons_json(reasons: list[Reason]) -> list[dict[str, str]]:
    return [reason.model_dump() for reason in reasons]


def _watermark_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


class Importer:
    """Imports one legacy database into Booking Pulse, table by table."""

    def __init__(
        self,
        database_url: str,
        legacy_url: str,
        mapping: Mapping,
        *,
        progress: bool | None = None,
        full: bool = False,
    ) -> None:
        self.database_url = database_url
        self.source = LegacySource(legacy_url)
        self.mapping = mapping
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.full = full
        self.stop = threading.Event()
        self.bound: dict[str, Bound] = {}
        self.key_unique: dict[str, bool] = {}

    def close(self) -> None:
        self.source.close()

    def bind(self) -> list[Bound]:
        """The tables to import, checked against the legacy schema: bookings; payments and customers when present."""
        tables = []
        for kind in TABLE_ORDER:
            spec = self.mapping.tables[kind]
            if not spec.enabled:
                continue
            columns = self.source.columns(spec.table)
            if not columns and kind != "bookings" and not spec.explicit:
                continue
            bound = Bound(self.mapping, spec, columns)
            self.bound[kind] = bound
            self.key_unique[kind] = self.source.key_is_unique(spec.table, spec.key)
            tables.append(bound)
        return tables

    def run(self) -> list[Tally]:
        """One pass over every table."""
        return [self.run_table(bound) for bound in self.bind()]

    def follow(self, interval: float, passes: int | None = None, on_pass: Callable[[int], None] | None = None) -> Tally:
        """Passes every `interval` seconds until stopped (SIGINT, SIGTERM) or after `passes` passes."""
        tables = self.bind()
        totals = {bound.kind: Tally(bound.kind) for bound in tables}
        done = 0
        while not self.stop.is_set():
            for bound in tables:
                try:
                    tally = self.run_table(bound, retry_quarantined=done == 0)
                except (MySQLdb.MySQLError, SourceError, psycopg.OperationalError) as error:
                    # A lost connection on either side: what was committed stays; the next poll resumes.
                    log.warning("follow: %s: %s; trying again in %gs", bound.table, error, interval)
                    break
                totals[bound.kind].add(tally)
                if tally.events or tally.quarantined:
                    log.info("follow: %s", tally.line())
            done += 1
            if on_pass is not None:
                on_pass(done)
            if passes is not None and done >= passes:
                break
            self.stop.wait(interval)
        overall = Tally("all tables")
        for tally in totals.values():
            overall.add(tally)
        return overall

    # --- one pass over one table ---------------------------------------------------------

    def run_table(self, bound: Bound, retry_quarantined: bool = True) -> Tally:
        started = time.perf_counter()
        tally = Tally(bound.kind)
        spec = bound.spec
        names = {"source": self.mapping.source, "legacy_table": spec.table}
        writer = _Writer(self, bound, tally)
        try:
            with writer.conn.transaction():
                locked = writer.conn.execute(pulse_query("take_import_lock"), names).fetchone()
                if not locked or not locked[0]:
                    raise ImportRefused(f"another pulse import of {self.mapping.source} {spec.table} is running")
                position = writer.conn.execute(
                    pulse_query("start_import"), {**names, "watermark_column": bound.watermark}
                ).fetchone()
            assert position is not None
            writer.import_id, watermark, has_rows = position
            writer.fresh = not has_rows
            retry: list[str] = []
            if retry_quarantined and has_rows:
                with writer.conn.transaction():
                    keys = writer.conn.execute(pulse_query("quarantined_keys"), {"import_id": writer.import_id})
                    retry = [row[0] for row in keys.fetchall()]
            # From here on only the writer thread uses its connection.
            writer.start()
            self._retry_quarantined(bound, writer, retry)
            since = None if self.full or watermark is None else self._since(bound, watermark)
            statement = legacy_query(
                "read_all" if since is None else "read_since",
                table=spec.table,
                key=spec.key,
                watermark=bound.watermark,
                columns=bound.columns,
            )
            params = None if since is None else {"since": since}
            bar = self._bar(bound, since)
            try:
                for rows in self.source.stream(statement, params, self.mapping.batch_size):
                    mapped = self._map(bound, rows, writer)
                    # On a first pass the decisions need no row states: made here, they leave the
                    # writer's thread free to keep PostgreSQL busy (the import's critical path).
                    prepared = writer.prepare(mapped, {}) if writer.fresh else None
                    writer.put(_Batch(mapped, len(rows), bound.watermark_of(rows[-1]), prepared))
                    if bar is not None:
                        bar.update(len(rows))
                    if self.stop.is_set():
                        break
            finally:
                if bar is not None:
                    bar.close()
            writer.finish()
            if not self.stop.is_set():
                with writer.conn.transaction():
                    writer.conn.execute(pulse_query("finish_pass"), names)
        finally:
            writer.close()
        tally.seconds = time.perf_counter() - started
        return tally

    def _since(self, bound: Bound, watermark: str) -> Any:
        overlap = bound.overlap
        if bound.watermark_is_time:
            assert isinstance(overlap, timedelta)
            return datetime.fromisoformat(watermark) - overlap
        assert isinstance(overlap, int)
        try:
            return int(watermark) - overlap
        except ValueError:
            raise MappingError(
                f"{bound.kind}: a key watermark needs an integer key, not {watermark!r}; use updated_at"
            ) from None

    def _bar(self, bound: Bound, since: Any) -> tqdm[Any] | None:
        if not self.progress:
            return None
        spec = bound.spec
        counted = self.source.fetch(
            legacy_query("count_all" if since is None else "count_since", table=spec.table, watermark=bound.watermark),
            None if since is None else {"since": since},
        )
        return tqdm(total=int(counted[0][0]), desc=spec.table, unit=" rows", unit_scale=True, file=sys.stderr)

    def _retry_quarantined(self, bound: Bound, writer: _Writer, keys: list[str]) -> None:
        """Rows quarantined by earlier runs go through again: the rows or the mapping may have been fixed."""
        for start in range(0, len(keys), 1000):
            rows = self.source.fetch(
                legacy_query("read_keys", table=bound.table, key=bound.spec.key, columns=bound.columns),
                {"keys": keys[start : start + 1000]},
            )
            if rows:
                writer.put(_Batch(self._map(bound, rows, writer, regroup=True), 0, None))

    def _map(self, bound: Bound, rows: list[Row], writer: _Writer, regroup: bool = False) -> list[Mapped]:
        """A batch of rows turned into event candidates; the copies of a duplicated key numbered 0, 1, ..."""
        if self.key_unique[bound.kind]:
            return map_rows(bound, rows)
        keys = list(dict.fromkeys(row[0] for row in rows))
        spec = bound.spec
        duplicated = {
            str(row[0])
            for row in self.source.fetch(legacy_query("duplicate_keys", table=spec.table, key=spec.key), {"keys": keys})
        }
        mapped = map_rows(bound, [row for row in rows if str(row[0]) not in duplicated])
        fresh = duplicated if regroup else duplicated - writer.grouped
        if fresh:
            group_rows = self.source.fetch(
                legacy_query("read_keys", table=spec.table, key=spec.key, columns=bound.columns),
                {"keys": [row[0] for row in rows if str(row[0]) in fresh]},
            )
            mapper = MAPPERS[bound.kind]
            seen: Counter[str] = Counter()
            for row in group_rows:
                key = str(row[0])
                mapped.append(mapper(bound, row, seen[key]))
                seen[key] += 1
            writer.grouped |= fresh
        return mapped


class _Writer(threading.Thread):
    """Commits batches in order on its own connection, each in one transaction."""

    def __init__(self, importer: Importer, bound: Bound, tally: Tally) -> None:
        super().__init__(name=f"pulse-import-{bound.kind}", daemon=True)
        self.importer = importer
        self.mapping = importer.mapping
        self.bound = bound
        self.tally = tally
        self.names = {"source": self.mapping.source, "legacy_table": bound.table}
        self.conn = psycopg.connect(importer.database_url)
        # pulse.append_events is PL/pgSQL: after five calls it may switch to a
        # generic plan, which is 10-20x slower for batches of thousands of
        # events. A custom plan each time is what the batch sizes need.
        self.conn.execute("set plan_cache_mode = force_custom_plan")
        self.conn.execute("set jit = off")
        self.conn.commit()
        self.queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        # pulse.legacy_imports.id of this source and table, which keys its pulse.legacy_rows.
        self.import_id = 0
        self.fresh = False
        # Duplicated keys already handled in this pass.
        self.grouped: set[str] = set()

    def put(self, batch: _Batch) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        self.put_end()
        self.join()
        if self.error is not None:
            raise self.error

    def put_end(self) -> None:
        while self.is_alive():
            try:
                self.queue.put(None, timeout=0.2)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self.is_alive():
            self.put_end()
            self.join()
        self.conn.close()

    def run(self) -> None:
        try:
            while (batch := self.queue.get()) is not None:
                self.write(batch)
        except BaseException as error:
            self.error = error
            # Unblock the reader: drain what it may still put.
            while True:
                try:
                    if self.queue.get(timeout=0.5) is None:
                        break
                except queue.Empty:
                    break

    # --- one batch, one transaction ------------------------------------------------------------

    def prepare(self, rows: list[Mapped], states: dict[tuple[str, int], _State]) -> _Prepared:
        """What each row appends and records, given what earlier runs made of the rows (states)."""
        prepared = _Prepared([], {}, {}, [], Tally(self.bound.kind))
        for m in rows:
            self._decide(m, states.get((m.key, m.ordinal)) if states else None, prepared)
        prepared.events_json = json_text(prepared.events)
        if self.fresh:
            prepared.states_copy = self._states_copy(prepared.new_states.values())
        return prepared

    def _states_copy(self, states: Iterable[dict[str, Any]]) -> bytes:
        """Row states as COPY text for copy_row_states, in its columns' order.

        Keys, booking ids and reasons are escaped; outcomes, totals (decimal text) and currencies
        (checked codes) have nothing to escape.
        """
        import_id = self.import_id
        return "".join(
            f"{import_id}\t{_copy_text(s['k'])}\t{s['n']}\t{_copy_text(s['b'])}\t{s['x']}\t"
            f"{s['t'] or _COPY_NULL}\t{s['c'] or _COPY_NULL}\t{'t' if s['z'] else 'f'}\t{s['m']}\t"
            f"{_COPY_NULL if s['r'] is None else _copy_text(json_text(s['r']))}\n"
            for s in states
        ).encode()

    def write(self, batch: _Batch) -> None:
        with self.conn.transaction():
            prepared = batch.prepared or self.prepare(batch.rows, self._states(batch.rows))
            events, created_by, new_states = prepared.events, prepared.created_by, prepared.new_states
            quarantine, tally = prepared.quarantine, prepared.tally
            stored = 0
            taken: dict[UUID, UUID | None] = {}
            if events:
                stored, taken = self._append(prepared.events_json)
                tally.already_stored = len(events) - stored - len(taken)
                self._refused(taken, created_by, new_states, quarantine, tally)
            if new_states and self.fresh:
                # Refused bookings changed some states since they were encoded.
                self._copy_row_states(self._states_copy(new_states.values()) if taken else prepared.states_copy)
            elif new_states:
                self.conn.execute(
                    pulse_query("save_row_states"),
                    {"import_id": self.import_id, "rows": json_text(list(new_states.values()))},
                )
            if quarantine:
                self._quarantine(quarantine)
            tally.events = stored
            tally.rows = batch.read
            self.conn.execute(
                pulse_query("advance_import"),
                {
                    **self.names,
                    "watermark": _watermark_text(batch.watermark),
                    "rows": batch.read,
                    "events": stored,
                    "quarantined": tally.quarantined,
                    "duplicates": tally.duplicates,
                },
            )
        self.tally.add(tally)

    def _copy_row_states(self, states: bytes) -> None:
        """Row states of a table no earlier run has touched: no conflict to look for, so COPY.

        PostgreSQL's time for 10^6 rows (pg_stat_statements), on the import's critical path: 4.6 s
        inserted from JSON, 3.9 s by COPY, 2.5 s by COPY since revision 0020 narrowed the key.
        """
        with self.conn.cursor().copy(pulse_query("copy_row_states")) as copy:
            copy.write(states)

    def _states(self, rows: list[Mapped]) -> dict[tuple[str, int], _State]:
        if self.fresh:
            return {}
        found = self.conn.execute(
            pulse_query("row_states"), {"import_id": self.import_id, "keys": list({m.key for m in rows})}
        ).fetchall()
        return {(row[0], row[1]): _State(*row[2:]) for row in found}

    def _decide(self, m: Mapped, state: _State | None, p: _Prepared) -> None:
        """What one row appends, given what earlier runs made of it."""
        bound = self.bound
        is_booking = bound.kind == "bookings"
        tally = p.tally
        if state is None or state.outcome == "quarantined":
            if m.event is None:
                self._refuse(m, m.reasons, "quarantined", state, p)
                return
            if m.ordinal > 0 and not is_booking:
                # No uniqueness protects payments or registrations: a second copy would count twice.
                message = f"{m.key} appears more than once in {bound.table}; only its first copy is imported"
                self._refuse(m, [Reason(field=bound.spec.key, message=message)], "duplicate", state, p)
                return
            p.events.append(m.event)
            p.created_by[m.event.event_id] = m
            tally.created += 1
            cancelled = False
            if m.cancellation is not None:
                if isinstance(m.cancellation, list):
                    p.quarantine.append((m, m.cancellation))
                    tally.quarantined += 1
                else:
                    p.events.append(m.cancellation)
                    cancelled = True
                    tally.cancellations += 1
            p.new_states[(m.key, m.ordinal)] = self._state_row(m, "imported", cancelled=cancelled)
            return
        if state.outcome != "imported" or not is_booking:
            # Duplicates stay refused, live bookings belong to live traffic, and
            # payments and registrations do not change once imported.
            tally.unchanged += 1
            return
        if m.event is None:
            # The row changed into something that cannot be imported (a negative total, ...).
            self._refuse(m, m.reasons, "imported", state, p)
            return
        total, currency, modifications, cancelled = state.total, state.currency, state.modifications, state.cancelled
        changes: list[RowEvent] = []
        reasons: list[Reason] = []
        if (m.total, m.currency) != (state.total, state.currency):
            assert m.total is not None
            amount = format(m.total, "f")
            what = f"modified:{modifications + 1}:{amount}:{m.currency}"
            modified = self._change(
                m, what, {"booking_id": m.booking_id, "total_amount": amount, "currency": m.currency}
            )
            if isinstance(modified, list):
                reasons += modified
            else:
                changes.append(modified)
                total, currency, modifications = m.total, m.currency, modifications + 1
                tally.modifications += 1
        if m.cancelled and not state.cancelled:
            cancellation = self._change(m, "cancelled", {"booking_id": m.booking_id})
            if isinstance(cancellation, list):
                reasons += cancellation
            else:
                changes.append(cancellation)
                cancelled = True
                tally.cancellations += 1
        if reasons:
            self._refuse(m, reasons, "imported", state, p)
        elif not changes:
            tally.unchanged += 1
        slot = (m.key, m.ordinal)
        if changes or (state.reasons is not None and not reasons):
            p.events.extend(changes)
            p.new_states[slot] = {
                **self._state_row(m, "imported", cancelled=cancelled),
                "t": format(total, "f") if total is not None else None,
                "c": currency,
                "m": modifications,
                "r": p.new_states[slot]["r"] if slot in p.new_states else None,
            }

    def _refuse(self, m: Mapped, reasons: list[Reason], outcome: str, base: _State | None, p: _Prepared) -> None:
        """A row that appends nothing, and why; quarantined once: not again for the same reasons."""
        if base is not None and base.reasons == _reasons_json(reasons):
            p.tally.unchanged += 1
            return
        p.quarantine.append((m, reasons))
        if base is not None and base.outcome == "imported":
            p.new_states[(m.key, m.ordinal)] = self._state_row_from(m, base, reasons)
        else:
            p.new_states[(m.key, m.ordinal)] = self._state_row(m, outcome, reasons=reasons)
        if outcome == "duplicate":
            p.tally.duplicates += 1
        else:
            p.tally.quarantined += 1

    def _change(self, m: Mapped, what: str, data: dict[str, Any]) -> RowEvent | list[Reason]:
        """A modification or cancellation of a booking row, dated when the row last changed."""
        return change_event(self.bound, m, what, change_time(m), data)

    def _state_row(
        self, m: Mapped, outcome: str, *, cancelled: bool = False, reasons: list[Reason] | None = None
    ) -> dict[str, Any]:
        return {
            "k": m.key,
            "n": m.ordinal,
            "b": m.booking_id,
            "x": outcome,
            "t": m.total_text if outcome == "imported" else None,
            "c": m.currency if outcome == "imported" else None,
            "z": cancelled,
            "m": 0,
            "r": _reasons_json(reasons) if reasons else None,
        }

    def _state_row_from(self, m: Mapped, state: _State, reasons: list[Reason]) -> dict[str, Any]:
        return {
            "k": m.key,
            "n": m.ordinal,
            "b": m.booking_id,
            "x": state.outcome,
            "t": format(state.total, "f") if state.total is not None else None,
            "c": state.currency,
            "z": state.cancelled,
            "m": state.modifications,
            "r": _reasons_json(reasons),
        }

    def _append(self, events_json: str) -> tuple[int, dict[UUID, UUID | None]]:
        row = self.conn.execute(pulse_query("append_legacy_events"), {"events": events_json}).fetchone()
        assert row is not None
        stored, taken, holders = row
        return int(stored), dict(zip(taken, holders, strict=True))

    def _refused(
        self,
        taken: dict[UUID, UUID | None],
        created_by: dict[str, Mapped],
        new_states: dict[tuple[str, int], dict[str, Any]],
        quarantine: list[tuple[Mapped, list[Reason]]],
        tally: Tally,
    ) -> None:
        """booking.created events the write contract refused: the booking id was already created."""
        for event_id, holder in taken.items():
            m = created_by[str(event_id)]
            tally.created -= 1
            own = self.mapping.id_of(self.bound.table, m.key, "created")
            if m.ordinal > 0 or holder == own:
                reason = Reason(
                    field=self.bound.spec.key,
                    message=(
                        f"booking {m.booking_id} was already created by event {holder}: "
                        f"{m.key} appears more than once in {self.bound.table}"
                    ),
                )
                quarantine.append((m, [reason]))
                new_states[(m.key, m.ordinal)] = self._state_row(m, "duplicate", reasons=[reason])
                tally.duplicates += 1
            else:
                by = f"event {holder}" if holder else "another writer at the same moment"
                reason = Reason(field=self.bound.spec.key, message=f"booking {m.booking_id} was created by {by}")
                new_states[(m.key, m.ordinal)] = self._state_row(m, "live", reasons=[reason])
                tally.live += 1

    def _quarantine(self, rejected: list[tuple[Mapped, list[Reason]]]) -> None:
        bound = self.bound
        content_type = f"{QUARANTINE_CONTENT_TYPE}; source={self.mapping.source}; table={bound.table}"
        self.conn.execute(
            query("quarantine"),
            {
                "content_type": content_type,
                "raws": [json.dumps(bound.raw_json(m.row)).encode() for m, _ in rejected],
                "reasons": [Jsonb(_reasons_json(reasons)) for _, reasons in rejected],
            },
        )
        for m, reasons in rejected[: max(0, 10 - len(self.tally.examples))]:
            self.tally.examples.append(
                f"{bound.table} {bound.spec.key}={m.key}: " + "; ".join(f"{r.field}: {r.message}" for r in reasons)
            )
