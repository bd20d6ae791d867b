-- What `pulse import` made of each legacy row, written in the same transaction
-- as the events it appended. A later run compares each row it reads with this:
-- unchanged rows append nothing, a changed total appends a booking.modified, a
-- new cancellation a booking.cancelled, and a quarantined row is retried.
--
-- Keyed by import_id, not by the source and table's names: a first pass writes
-- a row here for every legacy row, and the key's upkeep sets that COPY's pace
-- (5*10^5 rows: 1.7 s with the names in the key, 1.2 s with import_id, 0.5 s
-- with no key at all).
-- No foreign key to pulse.legacy_imports: its check would run once per row.
create table pulse.legacy_rows (
  import_id     integer  not null,
  row_key       text     not null,
  -- 0, or n for the n-th extra row with the same key (a duplicate row).
  ordinal       integer  not null default 0,
  booking_id    text,
  outcome       text     not null check (outcome in ('imported', 'live', 'duplicate', 'quarantined')),
  total         numeric,
  currency      text,
  cancelled     boolean  not null default false,
  modifications integer  not null default 0,
  reasons       jsonb,
  primary key (import_id, row_key, ordinal)
);
comment on table pulse.legacy_rows is 'pulse import: per legacy row, its outcome (imported, live, duplicate, quarantined) and the state it was last imported in.';
comment on column pulse.legacy_rows.outcome is 'imported: its events are in the log; live: another writer created the booking first; duplicate: its key was already a booking; quarantined: it could not become valid events (reasons).';
comment on column pulse.legacy_rows.total is 'Bookings: the total last imported (at creation or by the latest booking.modified).';
comment on column pulse.legacy_rows.modifications is 'Bookings: booking.modified events appended for this row; numbers the next one''s event id.';
comment on column pulse.legacy_rows.reasons is 'Why the row (or its latest change) was quarantined or refused, as [{"field", "message"}] naming legacy columns.';
comment on column pulse.legacy_rows.import_id is 'The legacy source and table: pulse.legacy_imports.id.';
