-- pulse verify: each projection's rollups against a recompute from the raw
-- events up to its checkpoint, in one snapshot. Each query returns the rows
-- that differ, as (key, rollup, recompute); none when the invariant holds.
-- After pulse retention, only buckets from the retention cutoff on are
-- compared, and bookings created before it are left out on both sides.

-- name: verify_bookings
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = 'bookings'
),

cutoff as (
  select coalesce(max(dropped_before), '-infinity') as dropped_before from pulse.retention_runs
),

recomputed as (
  select r.*
  from checkpoint c, cutoff, pulse.recompute_bookings_hourly(c.xact_id, c.seq, cutoff.dropped_before) r
),

left_out as (
  -- Bookings created before the retention cutoff: their events are partly gone.
  select c.bucket, b.destination, b.booking_type, b.channel, c.currency,
         sum(c.modifications) as modifications, sum(c.modification_delta) as modification_delta,
         sum(c.cancellations) as cancellations, sum(c.refunds) as refunds
  from pulse_bookings.booking_contributions c
  join pulse_bookings.bookings b using (booking_id)
  where b.created_at < (select dropped_before from cutoff)
  group by 1, 2, 3, 4, 5
),

projected as (
  select h.bucket, h.destination, h.booking_type, h.channel, h.currency,
         h.bookings, h.gross_revenue,
         h.modifications - coalesce(l.modifications, 0) as modifications,
         h.modification_delta - coalesce(l.modification_delta, 0) as modification_delta,
         h.cancellations - coalesce(l.cancellations, 0) as cancellations,
         h.refunds - coalesce(l.refunds, 0) as refunds
  from pulse_bookings.hourly h
  left join left_out l using (bucket, destination, booking_type, channel, currency)
)

select concat_ws(' ', bucket, destination, booking_type, channel, currency) as key,
       row(p.bookings, p.gross_revenue, p.modifications, p.modification_delta, p.cancellations, p.refunds)::text
         as projected,
       row(r.bookings, r.gross_revenue, r.modifications, r.modification_delta, r.cancellations, r.refunds)::text
         as recomputed
from projected p
full join recomputed r using (bucket, destination, booking_type, channel, currency)
where bucket >= (select dropped_before from cutoff)
  and (coalesce(p.bookings, 0), coalesce(p.gross_revenue, 0), coalesce(p.modifications, 0),
       coalesce(p.modification_delta, 0), coalesce(p.cancellations, 0), coalesce(p.refunds, 0))
      is distinct from
      (coalesce(r.bookings, 0), coalesce(r.gross_revenue, 0), coalesce(r.modifications, 0),
       coalesce(r.modification_delta, 0), coalesce(r.cancellations, 0), coalesce(r.refunds, 0))
order by 1;

-- name: verify_bookings_daily
-- The daily rollup is the hourly one regrouped by business day.
with regrouped as (
  select c.day, h.destination, h.booking_type, h.channel, h.currency,
         sum(h.bookings) as bookings, sum(h.gross_revenue) as gross_revenue,
         sum(h.modifications) as modifications, sum(h.modification_delta) as modification_delta,
         sum(h.cancellations) as cancellations, sum(h.refunds) as refunds
  from pulse_bookings.hourly h
  join pulse.calendar c using (bucket)
  group by 1, 2, 3, 4, 5
)

select concat_ws(' ', day, destination, booking_type, channel, currency) as key,
       row(d.bookings, d.gross_revenue, d.modifications, d.modification_delta, d.cancellations, d.refunds)::text
         as projected,
       row(r.bookings, r.gross_revenue, r.modifications, r.modification_delta, r.cancellations, r.refunds)::text
         as recomputed
from pulse_bookings.daily d
full join regrouped r using (day, destination, booking_type, channel, currency)
where (coalesce(d.bookings, 0), coalesce(d.gross_revenue, 0), coalesce(d.modifications, 0),
       coalesce(d.modification_delta, 0), coalesce(d.cancellations, 0), coalesce(d.refunds, 0))
      is distinct from
      (coalesce(r.bookings, 0), coalesce(r.gross_revenue, 0), coalesce(r.modifications, 0),
       coalesce(r.modification_delta, 0), coalesce(r.cancellations, 0), coalesce(r.refunds, 0))
order by 1;

-- name: verify_conversion
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = 'conversion'
),

cutoff as (
  select coalesce(max(dropped_before), '-infinity') as dropped_before from pulse.retention_runs
),

recomputed as (
  select date_bin('1 hour', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         e.data->>'destination' as destination,
         count(*) filter (where e.type = 'search.performed') as searches,
         count(*) filter (where e.type = 'checkout.started') as checkouts,
         count(*) filter (where e.type = 'booking.created') as bookings
  from pulse.events e
  cross join checkpoint c
  left join pulse.booking_ids b on b.event_id = e.event_id
  where (e.xact_id, e.seq) <= (c.xact_id, c.seq)
    and e.type in ('search.performed', 'checkout.started', 'booking.created')
    and (e.type <> 'booking.created' or b.booking_id = e.data->>'booking_id')
  group by 1, 2
)

select concat_ws(' ', bucket, destination) as key,
       row(p.searches, p.checkouts, p.bookings)::text as projected,
       row(r.searches, r.checkouts, r.bookings)::text as recomputed
from pulse_conversion.hourly p
full join recomputed r using (bucket, destination)
where bucket >= (select dropped_before from cutoff)
  and (p.searches, p.checkouts, p.bookings) is distinct from (r.searches, r.checkouts, r.bookings)
order by 1;

-- name: verify_customers
-- Counts only: first and last times may rightly be older than retained events.
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = 'customers'
),

retention as (
  select count(*) as runs from pulse.retention_runs
),

recomputed as (
  select e.data->>'customer_id' as customer_id,
         count(*) filter (where e.type = 'search.performed') as searches,
         count(*) filter (where e.type = 'checkout.started') as checkouts,
         count(*) filter (where e.type = 'booking.created') as bookings,
         coalesce(sum((e.data->>'total_amount')::numeric) filter (where e.type = 'booking.created'), 0) as booked_amount
  from pulse.events e
  cross join checkpoint c
  left join pulse.booking_ids b on b.event_id = e.event_id
  where (e.xact_id, e.seq) <= (c.xact_id, c.seq)
    and e.type in ('customer.registered', 'search.performed', 'checkout.started', 'booking.created')
    and e.data->>'customer_id' is not null
    and (e.type <> 'booking.created' or b.booking_id = e.data->>'booking_id')
  group by 1
)

select customer_id as key,
       row(p.searches, p.checkouts, p.bookings, p.booked_amount)::text as projected,
       row(r.searches, r.checkouts, r.bookings, r.booked_amount)::text as recomputed
from pulse_customers.customers p
full join recomputed r using (customer_id)
where (select runs from retention) = 0
  and (p.searches, p.checkouts, p.bookings, p.booked_amount)
      is distinct from (r.searches, r.checkouts, r.bookings, r.booked_amount)
order by 1;
