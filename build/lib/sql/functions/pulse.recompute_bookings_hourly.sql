-- The bookings projection's hourly rollup, recomputed from scratch: from the
-- raw events up to a log position, for bookings created since a time. One
-- plain set-wise query with none of the projection's incremental machinery;
-- pulse verify compares the projection with it, and bench times it.
create or replace function pulse.recompute_bookings_hourly(
  upto_xact_id  xid8,
  upto_seq      bigint,
  created_since timestamptz default '-infinity'
)
returns table (
  bucket             timestamptz,
  destination        text,
  booking_type       text,
  channel            text,
  currency           text,
  bookings           bigint,
  gross_revenue      numeric,
  modifications      bigint,
  modification_delta numeric,
  cancellations      bigint,
  refunds            numeric
)
language sql stable
-- A whole-log recompute: hash joins throughout. CTE row estimates are guesses,
-- and a nested loop over two of them goes quadratic.
set enable_nestloop = off
as $$
with events as (
  select e.data->>'booking_id' as booking_id, e.event_id, e.type, e.occurred_at, e.seq, e.data
  from pulse.events e
  where (e.xact_id, e.seq) <= (upto_xact_id, upto_seq)
    and e.type in ('booking.created', 'booking.modified', 'booking.cancelled')
),

created as (
  -- The creation that holds each booking_id.
  select e.booking_id, e.event_id, e.occurred_at, e.data
  from events e
  join pulse.booking_ids b on b.event_id = e.event_id and b.booking_id = e.booking_id
  where e.type = 'booking.created' and e.occurred_at >= created_since
),

history as (
  select e.booking_id, e.type, e.occurred_at, e.seq,
         (case e.type when 'booking.cancelled' then e.data->>'refund_amount' else e.data->>'total_amount' end)::numeric
           as amount,
         e.data->>'currency' as currency,
         c.data->>'destination' as destination,
         c.data->>'booking_type' as booking_type,
         coalesce(c.data->>'channel', 'unknown') as channel,
         row_number() over (partition by e.booking_id order by e.type <> 'booking.created', e.occurred_at, e.seq)
           as step
  from events e
  join created c using (booking_id)
  where e.type <> 'booking.created' or e.event_id = c.event_id
),

in_force as (
  -- The total and currency in force at each step: those of the latest creation or modification.
  select h.*,
         (array_agg(amount) filter (where type in ('booking.created', 'booking.modified'))
            over (partition by booking_id order by step))[
           count(*) filter (where type in ('booking.created', 'booking.modified'))
             over (partition by booking_id order by step)] as total,
         (array_agg(currency) filter (where type in ('booking.created', 'booking.modified'))
            over (partition by booking_id order by step))[
           count(*) filter (where type in ('booking.created', 'booking.modified'))
             over (partition by booking_id order by step)] as total_currency,
         count(*) filter (where type = 'booking.cancelled')
           over (partition by booking_id order by step) as cancellation_no
  from history h
),

facts as (
  select booking_id, occurred_at, destination, booking_type, channel, currency,
         1 as bookings, amount as gross, 0 as modifications, 0 as delta, 0 as cancellations, 0 as refunds
  from in_force where type = 'booking.created'
  union all
  select booking_id, occurred_at, destination, booking_type, channel, total_currency, 0, 0, 1, total, 0, 0
  from in_force where type = 'booking.modified'
  union all
  -- What the modification replaced: the total in force at the step before it.
  select f.booking_id, f.occurred_at, f.destination, f.booking_type, f.channel, p.total_currency, 0, 0, 0, -p.total, 0, 0
  from in_force f
  join in_force p on p.booking_id = f.booking_id and p.step = f.step - 1
  where f.type = 'booking.modified'
  union all
  select booking_id, occurred_at, destination, booking_type, channel, total_currency,
         0, 0, 0, 0, 1, coalesce(amount, total)
  from in_force where type = 'booking.cancelled' and cancellation_no = 1
),

final as (
  select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         destination, booking_type, channel, currency,
         sum(bookings)::bigint as bookings, sum(gross) as gross_revenue, sum(modifications)::bigint as modifications,
         sum(delta) as modification_delta, sum(cancellations)::bigint as cancellations, sum(refunds) as refunds
  from facts
  group by 1, 2, 3, 4, 5
)

select * from final
$$;
