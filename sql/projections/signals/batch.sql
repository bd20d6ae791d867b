-- The signals projection's statements; see projections/bookings/batch.sql for
-- the parameters every statement receives. They read the batch from
-- pulse_batch (the projection reads_batch_table).

-- name: sort_to_aggregate
-- Grouped by sorting, a batch's minutes come out in key order and go into the rollups' indexes in that
-- order. Hashed (the planner's choice for count_minutes), one batch's plain insert of its minutes took
-- 139 ms instead of 100.
set local enable_hashagg = off;

-- name: room_to_sort
-- A backlog's batch sorts about 60,000 minutes of bookings and payments and 90,000 searches; in
-- 4 MB both sorts spilled to disk. Signals catch-up of make bench's database, alternating three
-- times: 4.77-4.85 s in 16 MB against 4.92-4.97 s.
set local work_mem = '16MB';

-- name: record_bookings
-- The batch's bookings (only the creation that holds its booking_id), with their log positions.
-- A plain insert, as the bookings projection's: the write contract gives each booking_id one
-- holder, ever (pulse.booking_ids keeps them all), and each batch is applied once. "on conflict do
-- nothing" looked each one up first: 0.8 s of a 10^6-event catch-up against 0.5 s.
-- A booking that arrives releases the events that waited for it in held (count_minutes holds them).
with recorded as (
  insert into bookings (booking_id, destination, booking_type, currency, total, xact_id, seq)
  select e.data->>'booking_id', e.data->>'destination', e.data->>'booking_type', e.data->>'currency',
         (e.data->>'total_amount')::numeric, e.xact_id, e.seq
  from pulse_batch e
  where e.type = 'booking.created' and e.holds_booking
  returning booking_id
)

delete from held h
using recorded r
where h.booking_id = r.booking_id;

-- name: count_minutes
-- Adds the batch's bookings, cancellations, payments and failed payments to their minute, and holds
-- the events whose booking has not arrived.
with batch as (
  select e.type, e.occurred_at, e.xact_id, e.seq, e.received_at, e.data->>'booking_id' as booking_id,
         e.data->>'currency' as currency, e.data->>'amount' as amount
  from pulse_batch e
  where e.type in ('booking.modified', 'booking.cancelled', 'payment.captured', 'payment.failed')
),

looked_up as (
  -- Each event's booking, looked up through the primary key ("offset 0" keeps it a lookup), not a
  -- hash of every booking in each batch. Its figures count only when its creation comes before the
  -- event in the log.
  select e.*, b.before,
         case when b.before then b.destination end as destination,
         case when b.before then b.booking_type end as booking_type,
         case when b.before then b.currency end as booking_currency,
         case when b.before then b.total end as total
  from batch e
  left join lateral (select b.destination, b.booking_type, b.currency, b.total,
                            (b.xact_id, b.seq) <= (e.xact_id, e.seq) as before
                     from bookings b
                     where b.booking_id = e.booking_id
                     offset 0) as b on true
),

orphans as (
  -- Events whose booking has not arrived at all wait in held.
  insert into held (booking_id, seq, type, received_at)
  select booking_id, seq, type, received_at
  from looked_up
  where before is null
  on conflict do nothing
),

facts as (
  -- A creation that holds its booking_id is its own booking: no lookup.
  select date_bin('1 minute', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         e.data->>'destination' as destination,
         e.data->>'booking_type' as booking_type,
         e.data->>'currency' as currency,
         e.type,
         (e.data->>'total_amount')::numeric as value,
         null::numeric as paid,
         null::numeric as of_total
  from pulse_batch e
  where e.type = 'booking.created' and e.holds_booking
  union all
  select date_bin('1 minute', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         coalesce(e.destination, '') as destination,
         coalesce(e.booking_type, '') as booking_type,
         case when e.type = 'booking.cancelled' then coalesce(e.booking_currency::text, '') else e.currency end
           as currency,
         e.type,
         null as value,
         case when e.type = 'payment.captured' and e.booking_currency = e.currency
              then e.amount::numeric end as paid,
         case when e.type = 'payment.captured' and e.booking_currency = e.currency then e.total end as of_total
  from looked_up e
  where e.type <> 'booking.modified'
),

minutes as (
  select bucket, destination, booking_type, currency,
         count(*) filter (where type = 'booking.created') as bookings,
         coalesce(sum(value), 0) as gross_revenue,
         min(value) as min_value,
         max(value) as max_value,
         count(*) filter (where type = 'booking.cancelled') as cancellations,
         count(*) filter (where type = 'payment.captured') as payments,
         coalesce(sum(paid), 0) as paid_amount,
         coalesce(sum(of_total), 0) as paid_of_total,
         count(*) filter (where type = 'payment.failed') as payment_failures
  from facts
  group by 1, 2, 3, 4
),

-- Minutes after the latest one the rollup holds cannot be there yet: a plain insert, which skips
-- on conflict's look-before-insert (a backlog's batches bring mostly such minutes, one row per event
-- or so). Live traffic's current minute is there already and takes the upsert below.
latest as (
  select coalesce(max(bucket), '-infinity') as bucket from minutely
),

fresh as (
  insert into minutely (bucket, destination, booking_type, currency, bookings, gross_revenue, min_value, max_value,
                        cancellations, payments, paid_amount, paid_of_total, payment_failures, changed_in_batch)
  select *, %(batch_no)s from minutes where bucket > (select bucket from latest)
)

insert into minutely as m (bucket, destination, booking_type, currency, bookings, gross_revenue, min_value,
                           max_value, cancellations, payments, paid_amount, paid_of_total, payment_failures,
                           changed_in_batch)
select *, %(batch_no)s from minutes where bucket <= (select bucket from latest)
on conflict (bucket, destination, booking_type, currency) do update
set bookings = m.bookings + excluded.bookings,
    gross_revenue = m.gross_revenue + excluded.gross_revenue,
    min_value = least(m.min_value, excluded.min_value),
    max_value = greatest(m.max_value, excluded.max_value),
    cancellations = m.cancellations + excluded.cancellations,
    payments = m.payments + excluded.payments,
    paid_amount = m.paid_amount + excluded.paid_amount,
    paid_of_total = m.paid_of_total + excluded.paid_of_total,
    payment_failures = m.payment_failures + excluded.payment_failures,
    changed_in_batch = excluded.changed_in_batch;

-- name: count_searches
-- Each batch's searches per minute and destination; new minutes as in count_minutes. Read from
-- pulse.events, not pulse_batch (the projection's read_from_log): this statement alone reads them.
with minutes as (
  select date_bin('1 minute', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         e.data->>'destination' as destination, count(*) as searches
  from pulse.events e
  where (e.xact_id, e.seq) > (%(start_xact_id)s::text::xid8, %(start_seq)s)
    and (e.xact_id, e.seq) <= (%(end_xact_id)s::text::xid8, %(end_seq)s)
    and e.type = 'search.performed'
  group by 1, 2
),

latest as (
  select coalesce(max(bucket), '-infinity') as bucket from searches
),

fresh as (
  insert into searches (bucket, destination, searches, changed_in_batch)
  select *, %(batch_no)s from minutes where bucket > (select bucket from latest)
)

insert into searches as s (bucket, destination, searches, changed_in_batch)
select *, %(batch_no)s from minutes where bucket <= (select bucket from latest)
on conflict (bucket, destination) do update
set searches = s.searches + excluded.searches,
    changed_in_batch = excluded.changed_in_batch;

-- name: record_values
-- The batch's booking values, into their day's digest.
insert into booking_values as v (day, destination, booking_type, currency, bookings, values)
select (b.occurred_at at time zone 'UTC')::date, b.data->>'destination', b.data->>'booking_type', b.data->>'currency',
       count(*), tdigest((b.data->>'total_amount')::float8, 100)
from pulse_batch b
where b.type = 'booking.created' and b.holds_booking
group by 1, 2, 3, 4
on conflict (day, destination, booking_type, currency) do update
set bookings = v.bookings + excluded.bookings,
    values = tdigest_union(v.values, excluded.values);
