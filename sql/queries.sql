-- Named queries used by the Python code. Each starts with a "-- name: NAME"
-- line and a one-line description; app/sql.py loads them by name.

-- name: append_events
-- Stores the events whose event_id was never seen; returns their log positions.
with incoming as (
  select *
  from unnest(%(event_ids)s::uuid[], %(types)s::text[], %(occurred_ats)s::timestamptz[], %(datas)s::jsonb[])
       with ordinality as i (event_id, type, occurred_at, data, ord)
),
fresh as (
  insert into pulse.event_ids (event_id)
  select event_id from incoming
  on conflict do nothing
  returning event_id
)
insert into pulse.events (event_id, type, occurred_at, data)
select i.event_id, i.type, i.occurred_at, i.data
from incoming i join fresh using (event_id)
order by i.ord
returning event_id, xact_id::text::bigint as xact_id, seq;

-- name: quarantine
-- Keeps rejected input with its reasons.
insert into pulse.quarantine (content_type, raw, reasons)
select %(content_type)s, raw, reasons
from unnest(%(raws)s::bytea[], %(reasons)s::jsonb[]) as q (raw, reasons);

-- name: ensure_checkpoint
-- Creates a projection's checkpoint at the start of the log if it has none.
insert into pulse.projection_checkpoints (projection) values (%(projection)s)
on conflict do nothing;

-- name: read_horizon
-- The oldest transaction id still running: every event written below it is final.
-- Read before the batch takes its own transaction id, which would hold it back.
select pg_snapshot_xmin(s)::text::bigint as horizon,
       pg_snapshot_xmin(s) <> pg_snapshot_xmax(s) as writers_running
from pg_current_snapshot() as s;

-- name: lock_checkpoint
-- Locks a projection's checkpoint for one batch; none if another worker holds it.
select xact_id::text::bigint as xact_id, seq, batch_no
from pulse.projection_checkpoints
where projection = %(projection)s
for update skip locked;

-- name: next_batch_end
-- The last position of the next batch, and its size: at most batch_size events
-- after the checkpoint, all below the horizon.
with batch as (
  select e.xact_id, e.seq
  from pulse.events e
  where (e.xact_id, e.seq) > (%(xact_id)s::text::xid8, %(seq)s)
    and e.xact_id < %(horizon)s::text::xid8
  order by e.xact_id, e.seq
  limit %(batch_size)s
)
select count(*) as events,
       (array_agg(xact_id::text::bigint order by xact_id desc, seq desc))[1] as end_xact_id,
       (array_agg(seq order by xact_id desc, seq desc))[1] as end_seq
from batch;

-- name: advance_checkpoint
-- Moves a projection's checkpoint to the end of the batch it just applied.
update pulse.projection_checkpoints
set xact_id = %(end_xact_id)s::text::xid8,
    seq = %(end_seq)s,
    batch_no = %(batch_no)s,
    events_projected = events_projected + %(events)s,
    updated_at = now(),
    last_error = null,
    last_error_at = null
where projection = %(projection)s;

-- name: notify_projection
-- Wakes the live stream once per committed batch: a hint, never data.
select pg_notify('pulse_projections_v1', %(projection)s);

-- name: record_projection_error
-- Remembers why a projection's last batch failed, for GET /v1/status.
update pulse.projection_checkpoints
set last_error = %(error)s, last_error_at = now()
where projection = %(projection)s;

-- name: project_bookings_hourly
-- Adds one batch's booking.created events to the hourly bookings rollup.
insert into pulse.bookings_hourly_rollup as r
  (bucket, destination, booking_type, currency, bookings, gross_revenue, changed_in_batch)
select
  date_bin('1 hour', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
  e.data->>'destination',
  e.data->>'booking_type',
  e.data->>'currency',
  count(*),
  sum((e.data->>'total_amount')::numeric),
  %(batch_no)s
from pulse.events e
where (e.xact_id, e.seq) > (%(start_xact_id)s::text::xid8, %(start_seq)s)
  and (e.xact_id, e.seq) <= (%(end_xact_id)s::text::xid8, %(end_seq)s)
  and e.type = 'booking.created'
group by 1, 2, 3, 4
on conflict (bucket, destination, booking_type, currency) do update
set bookings = r.bookings + excluded.bookings,
    gross_revenue = r.gross_revenue + excluded.gross_revenue,
    changed_in_batch = excluded.changed_in_batch;

-- name: bookings_hourly_changed
-- Rollup rows changed by batches after the given one, newest buckets first.
select h.bucket, h.destination, h.booking_type, h.currency, h.bookings, h.gross_revenue, h.avg_booking_value
from analytics.bookings_hourly h
join pulse.bookings_hourly_rollup r using (bucket, destination, booking_type, currency)
where r.changed_in_batch > %(after_batch)s
order by h.bucket desc, h.destination, h.booking_type, h.currency
limit %(limit)s;

-- name: bookings_hourly_recent
-- Rollup rows of the last hours, newest first: what a new stream client sees first.
select bucket, destination, booking_type, currency, bookings, gross_revenue, avg_booking_value
from analytics.bookings_hourly
where bucket >= date_bin('1 hour', now(), timestamptz '2000-01-01 00:00:00+00') - make_interval(hours => %(hours)s)
order by bucket desc, destination, booking_type, currency
limit %(limit)s;

-- name: checkpoint
-- One projection's checkpoint.
select xact_id::text::bigint as xact_id, seq, batch_no, events_projected, updated_at,
       last_error, last_error_at
from pulse.projection_checkpoints
where projection = %(projection)s;

-- name: projection_lag
-- Events after a projection's checkpoint: those it has yet to apply.
select count(*) as lag
from pulse.events e, pulse.projection_checkpoints c
where c.projection = %(projection)s
  and (e.xact_id, e.seq) > (c.xact_id, c.seq);

-- name: log_totals
-- How many events are stored and how many inputs were quarantined.
select (select count(*) from pulse.events) as events,
       (select count(*) from pulse.quarantine) as quarantined,
       exists (select 1 from pg_extension where extname = 'timescaledb') as timescaledb;
