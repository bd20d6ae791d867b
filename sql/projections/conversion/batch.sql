-- The conversion projection's statements; see projections/bookings/batch.sql
-- for the parameters every statement receives.

-- name: hash_to_aggregate
-- A backlog's batch of 200,000 events falls into about 15,000 hours and
-- destinations. Sorted first (the planner's choice), the sort spilled to disk.
set local enable_sort = off;

-- name: count_funnel
-- Adds the batch's searches, checkouts and bookings to their hour and destination.
with hours as (
  select date_bin('1 hour', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         e.data->>'destination' as destination,
         count(*) filter (where e.type = 'search.performed') as searches,
         count(*) filter (where e.type = 'checkout.started') as checkouts,
         count(*) filter (where e.type = 'booking.created') as bookings
  from pulse.events e
  where (e.xact_id, e.seq) > (%(start_xact_id)s::text::xid8, %(start_seq)s)
    and (e.xact_id, e.seq) <= (%(end_xact_id)s::text::xid8, %(end_seq)s)
    and e.type = any(%(event_types)s::text[])
    -- Only the creation that holds its booking_id counts: marked by the write contract, else
    -- looked up in pulse.booking_ids.
    and (e.type <> 'booking.created'
         or coalesce(e.holds_booking,
                     (select b.event_id from pulse.booking_ids b where b.booking_id = e.data->>'booking_id') = e.event_id))
  group by 1, 2
),

-- Hours after the latest one the rollup holds cannot be there yet: a plain insert, which skips on
-- conflict's look-before-insert. A backlog's batches bring mostly such hours; live traffic's current
-- hour is there already and takes the upsert below.
latest as (
  select coalesce(max(bucket), '-infinity') as bucket from hourly
),

fresh as (
  insert into hourly (bucket, destination, searches, checkouts, bookings, changed_in_batch)
  select *, %(batch_no)s from hours where bucket > (select bucket from latest)
)

insert into hourly as h (bucket, destination, searches, checkouts, bookings, changed_in_batch)
select *, %(batch_no)s from hours where bucket <= (select bucket from latest)
on conflict (bucket, destination) do update
set searches = h.searches + excluded.searches,
    checkouts = h.checkouts + excluded.checkouts,
    bookings = h.bookings + excluded.bookings,
    changed_in_batch = excluded.changed_in_batch;
