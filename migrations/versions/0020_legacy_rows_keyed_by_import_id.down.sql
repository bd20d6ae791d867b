-- Revision 0020 undone: pulse.legacy_rows keyed by source and table's names again, as 0009 made it.
alter table pulse.legacy_rows rename to legacy_rows_0020;
alter index pulse.legacy_rows_pkey rename to legacy_rows_0020_pkey;
alter table pulse.legacy_rows_0020 rename constraint legacy_rows_outcome_check to legacy_rows_0020_outcome_check;
-- tables/pulse.legacy_rows.sql as of 0009
-- What `pulse import` made of each legacy row, written in the same transaction
-- as the events it appended. A later run compares each row it reads with this:
-- unchanged rows append nothing, a changed total appends a booking.modified, a
-- new cancellation a booking.cancelled, and a quarantined row is retried.
create table pulse.legacy_rows (
  source        text     not null,
  legacy_table  text     not null,
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
  primary key (source, legacy_table, row_key, ordinal)
);
comment on table pulse.legacy_rows is 'pulse import: per legacy row, its outcome (imported, live, duplicate, quarantined) and the state it was last imported in.';
comment on column pulse.legacy_rows.outcome is 'imported: its events are in the log; live: another writer created the booking first; duplicate: its key was already a booking; quarantined: it could not become valid events (reasons).';
comment on column pulse.legacy_rows.total is 'Bookings: the total last imported (at creation or by the latest booking.modified).';
comment on column pulse.legacy_rows.modifications is 'Bookings: booking.modified events appended for this row; numbers the next one''s event id.';
comment on column pulse.legacy_rows.reasons is 'Why the row (or its latest change) was quarantined or refused, as [{"field", "message"}] naming legacy columns.';
insert into pulse.legacy_rows
  (source, legacy_table, row_key, ordinal, booking_id, outcome, total, currency, cancelled, modifications, reasons)
select i.source, i.legacy_table, r.row_key, r.ordinal, r.booking_id, r.outcome, r.total, r.currency, r.cancelled,
       r.modifications, r.reasons
from pulse.legacy_rows_0020 r
join pulse.legacy_imports i on i.id = r.import_id;
drop table pulse.legacy_rows_0020;
alter table pulse.legacy_imports drop column id;
