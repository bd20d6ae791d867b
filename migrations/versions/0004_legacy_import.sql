-- Revision 0004, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- tables/pulse.legacy_imports.sql
-- Where `pulse import` stands per legacy table: its watermark and running
-- totals. Written in the same transaction as each batch's events, so an import
-- killed at any point resumes from its last committed batch.
create table pulse.legacy_imports (
  source           text        not null,
  legacy_table     text        not null,
  watermark_column text        not null,
  watermark        text,
  rows_read        bigint      not null default 0,
  events_appended  bigint      not null default 0,
  quarantined      bigint      not null default 0,
  duplicates       bigint      not null default 0,
  started_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  polled_at        timestamptz,
  primary key (source, legacy_table)
);
comment on table pulse.legacy_imports is 'pulse import: per legacy source and table, the watermark of the last committed batch and running totals.';
comment on column pulse.legacy_imports.source is 'The source name of the mapping file: part of every event id the import derives.';
comment on column pulse.legacy_imports.watermark_column is 'The legacy column the watermark follows (updated_at or the key).';
comment on column pulse.legacy_imports.watermark is 'Highest value of the watermark column committed, as MySQL returned it; the next run reads from it minus the overlap.';
comment on column pulse.legacy_imports.polled_at is 'When the last pass (or --follow poll) finished reading the table.';

-- tables/pulse.legacy_rows.sql
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

-- views/analytics.bookings.sql
create or replace view analytics.bookings as
select
  booking_id,
  customer_id,
  destination,
  booking_type,
  channel,
  case
    when cancelled_at is not null then 'cancelled'
    when modifications > 0 then 'modified'
    else 'confirmed'
  end as status,
  created_at,
  created_total,
  created_currency,
  current_total,
  current_currency as currency,
  modifications,
  cancelled_at,
  refunded as amount_refunded,
  amount_paid,
  other_payments,
  last_event_at,
  -- The legacy bookings table's name for the current total, so that legacy
  -- report SQL runs unchanged (created_at and status already match).
  current_total as total_amount
from pulse_bookings.bookings;

comment on view analytics.bookings is 'Current state of each booking whose booking.created has arrived, after all its events in event-time order.';
comment on column analytics.bookings.booking_id is 'Booking id as sent.';
comment on column analytics.bookings.customer_id is 'Customer who booked.';
comment on column analytics.bookings.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings.booking_type is 'Booking type as sent in booking.created.';
comment on column analytics.bookings.channel is 'Sales channel; unknown when it was not sent.';
comment on column analytics.bookings.status is 'confirmed, modified (at least one booking.modified) or cancelled.';
comment on column analytics.bookings.created_at is 'occurred_at of booking.created.';
comment on column analytics.bookings.created_total is 'total_amount at creation.';
comment on column analytics.bookings.created_currency is 'Currency at creation.';
comment on column analytics.bookings.current_total is 'Total after the latest modification (by event time), or at creation.';
comment on column analytics.bookings.currency is 'Currency of current_total and amount_paid.';
comment on column analytics.bookings.modifications is 'Count of booking.modified.';
comment on column analytics.bookings.cancelled_at is 'occurred_at of the first booking.cancelled; NULL when not cancelled.';
comment on column analytics.bookings.amount_refunded is 'Refund of that cancellation: refund_amount, or the total in force then; 0 when not cancelled.';
comment on column analytics.bookings.amount_paid is 'Sum of payment.captured in the booking''s currency.';
comment on column analytics.bookings.other_payments is 'Payments captured in other currencies, as {"EUR": 12.50}; NULL when none.';
comment on column analytics.bookings.last_event_at is 'Latest occurred_at among the booking''s events.';
comment on column analytics.bookings.total_amount is 'current_total under its legacy name (the legacy bookings table''s total_amount): the total in force now.';
