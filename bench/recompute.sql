-- Baselines for bench/run_all.py: each rollup recomputed from all of
-- pulse.events by one plain INSERT ... SELECT ... GROUP BY, into a scratch
-- table. Same semantics as the projections, none of their machinery.

-- name: bookings
create temp table recomputed_bookings_hourly as
with history as (
  select e.data->>'booking_id' as booking_id, e.type, e.occurred_at, e.seq,
         coalesce(e.data->>'total_amount', e.data->>'refund_amount')::numeric as amount,
         e.data->>'currency' as currency,
         row_number() over (partition by e.data->>'booking_id'
                            order by e.type <> 'booking.created', e.occurred_at, e.seq) as step,
         count(*) filter (where e.type = 'booking.created') over (partition by e.data->>'booking_id') as created
  from pulse.events e
  where e.type in ('booking.created', 'booking.modified', 'booking.cancelled')
),

numbered as (
  select *,
         count(*) filter (where type in ('booking.created', 'booking.modified'))
           over (partition by booking_id order by step) as total_no,
         count(*) filter (where type = 'booking.cancelled') over (partition by booking_id order by step) as cancel_no,
         lag(amount) filter (where type in ('booking.created', 'booking.modified'))
           over (partition by booking_id order by step) as unused
  from history
  where created = 1
)

select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket, currency,
       count(*) filter (where type = 'booking.created') as bookings,
       sum(amount) filter (where type = 'booking.created') as gross_revenue,
       count(*) filter (where type = 'booking.modified') as modifications,
       count(*) filter (where type = 'booking.cancelled' and cancel_no = 1) as cancellations
from numbered
group by 1, 2;
