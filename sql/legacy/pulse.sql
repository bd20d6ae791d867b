-- Named queries of `pulse import` and `pulse parity` on Booking Pulse's
-- PostgreSQL. Each starts with a "-- name: NAME" line.

-- name: take_import_lock
-- One import per legacy source and table at a time: a session lock, released
-- when the importer's connection closes (also when it is killed).
select pg_try_advisory_lock(hashtext('pulse.legacy_import:' || %(source)s || ':' || %(legacy_table)s)) as free;

-- name: start_import
-- The import's row for a table, created on first use. A changed watermark
-- column makes the old watermark meaningless: the next pass reads everything.
insert into pulse.legacy_imports as i (source, legacy_table, watermark_column)
values (%(source)s, %(legacy_table)s, %(watermark_column)s)
on conflict (source, legacy_table) do update
set watermark = case when i.watermark_column = excluded.watermark_column then i.watermark end,
    watermark_column = excluded.watermark_column
returning i.id, watermark,
          exists (select 1 from pulse.legacy_rows r where r.import_id = i.id) as has_rows;

-- name: row_states
-- What earlier runs made of these legacy rows.
select row_key, ordinal, outcome, total, currency, cancelled, modifications, reasons
from pulse.legacy_rows
where import_id = %(import_id)s and row_key = any(%(keys)s::text[]);

-- name: append_legacy_events
-- Appends a batch through the write contract, pulse.append_events. The events
-- come as one JSON array of {"i": event_id, "t": type, "o": occurred_at,
-- "d": data}, in order: one parameter instead of four arrays whose elements
-- the client would have to quote one by one. Answers how many were stored, and
-- each refused booking.created with the event that holds its booking_id.
-- jsonb: the payload is parsed once, where json_to_recordset(::json) parsed each
-- event's data three times (a ninth of this statement's time, on 3*10^5 events).
with incoming as (
  select *
  from rows from (jsonb_to_recordset(%(events)s::jsonb) as (i uuid, t text, o timestamptz, d jsonb))
       with ordinality as e (event_id, type, occurred_at, data, ord)
),
appended as (
  select a.*
  from pulse.append_events(array(select event_id from incoming order by ord),
                           array(select type from incoming order by ord),
                           array(select occurred_at from incoming order by ord),
                           array(select data from incoming order by ord)) as a
)
select count(*) filter (where not a.booking_taken) as stored,
       coalesce(array_agg(a.event_id) filter (where a.booking_taken), '{}') as taken,
       coalesce(array_agg(a.taken_by) filter (where a.booking_taken), '{}') as taken_by
from appended a;

-- name: save_row_states
-- Records what became of each row of a batch, as one JSON array of
-- {"k": key, "n": ordinal, "b": booking_id, "x": outcome, "t": total,
-- "c": currency, "z": cancelled, "m": modifications, "r": reasons}.
insert into pulse.legacy_rows as r
  (import_id, row_key, ordinal, booking_id, outcome, total, currency, cancelled, modifications, reasons)
select %(import_id)s, s.k, s.n, s.b, s.x, s.t, s.c, coalesce(s.z, false), coalesce(s.m, 0), s.r
from json_to_recordset(%(rows)s::json) as s (k text, n integer, b text, x text, t numeric, c text, z boolean,
                                              m integer, r jsonb)
on conflict (import_id, row_key, ordinal) do update
set booking_id = excluded.booking_id,
    outcome = excluded.outcome,
    total = excluded.total,
    currency = excluded.currency,
    cancelled = excluded.cancelled,
    modifications = excluded.modifications,
    reasons = excluded.reasons;

-- name: copy_row_states
-- save_row_states for a table no earlier run has touched: no conflict to look
-- for, so the rows come by COPY (text format), in the columns' order.
copy pulse.legacy_rows
  (import_id, row_key, ordinal, booking_id, outcome, total, currency, cancelled, modifications, reasons)
from stdin;

-- name: advance_import
-- Moves the watermark to the batch's last row and adds the batch to the totals,
-- in the batch's transaction.
update pulse.legacy_imports
set watermark = coalesce(%(watermark)s, watermark),
    rows_read = rows_read + %(rows)s,
    events_appended = events_appended + %(events)s,
    quarantined = quarantined + %(quarantined)s,
    duplicates = duplicates + %(duplicates)s,
    updated_at = now()
where source = %(source)s and legacy_table = %(legacy_table)s;

-- name: finish_pass
-- A pass (or a --follow poll) has read the table up to its end.
update pulse.legacy_imports set polled_at = now()
where source = %(source)s and legacy_table = %(legacy_table)s;

-- name: quarantined_keys
-- Keys of rows quarantined by earlier runs: each run tries them again.
select distinct row_key from pulse.legacy_rows
where import_id = %(import_id)s and outcome = 'quarantined'
order by row_key;

-- name: import_positions
-- Where each table of a source stands, for parity.
select legacy_table, watermark_column, watermark, rows_read, events_appended, quarantined, duplicates,
       updated_at, polled_at, id
from pulse.legacy_imports
where source = %(source)s;

-- name: parity_daily_report
-- analytics.legacy_daily_report for the days compared.
select booking_date, total_bookings, revenue, avg_booking_value
from analytics.legacy_daily_report
where booking_date between %(first)s and %(last)s
order by booking_date;

-- name: parity_customers
-- analytics.legacy_customer_analytics for these customers.
select customer_id, lifetime_bookings, lifetime_value, last_booking_date
from analytics.legacy_customer_analytics
where customer_id = any(%(customers)s::text[]);

-- name: parity_customers_booked_between
-- Customers with a booking created in the range, as Booking Pulse has them.
select distinct customer_id from analytics.bookings
where created_at >= %(starts_at)s and created_at < %(ends_at)s;

-- name: parity_bookings_by_id
-- What Booking Pulse holds for these bookings.
select booking_id, customer_id, created_at, created_total, current_total, status
from analytics.bookings
where booking_id = any(%(booking_ids)s::text[]);

-- name: parity_bookings_created_between
select booking_id, customer_id, created_at, created_total, current_total, status
from analytics.bookings
where created_at >= %(starts_at)s and created_at < %(ends_at)s;

-- name: parity_bookings_of_customers
select booking_id, customer_id, created_at, created_total, current_total, status
from analytics.bookings
where customer_id = any(%(customers)s::text[]);

-- name: parity_rows_by_booking_id
-- The legacy rows an import made these bookings from.
select booking_id, row_key, ordinal, outcome, total, reasons
from pulse.legacy_rows
where import_id = %(import_id)s and booking_id = any(%(booking_ids)s::text[]);

-- name: parity_business_settings
select timezone from analytics.settings;

-- name: parity_log_end
-- The last position of the log: parity waits for the projections to pass it.
select xact_id::text::bigint, seq from pulse.events order by xact_id desc, seq desc limit 1;

-- name: parity_checkpoints
-- Which of these projections have a checkpoint at all.
select projection from pulse.projection_checkpoints where projection = any(%(projections)s::text[]);

-- name: parity_projections_behind
-- The projections whose checkpoint is before a position.
select projection from pulse.projection_checkpoints
where projection = any(%(projections)s::text[])
  and (xact_id, seq) < (%(xact_id)s::text::xid8, %(seq)s);
