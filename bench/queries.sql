-- Baselines and analyst queries for bench/run_all.py.

-- name: recompute_bookings
-- The bookings rollup recomputed from all events by one plain query.
create temp table recomputed_bookings as
select * from pulse.recompute_bookings_hourly('18446744073709551615'::xid8, 9223372036854775807);

-- Each recompute finds the creations that hold their booking_id in whichever of two ways is
-- faster for it: by the write contract's mark as the projections do (else from pulse.booking_ids),
-- or by a hash join to pulse.booking_ids. On make bench's database, alternating, with the mark and
-- with the join: conversion 0.96-0.98 s and 0.99-1.05 s, signals 4.30-4.38 s and 4.41-4.55 s,
-- customers 1.65-1.72 s and 1.47-1.52 s. The bookings recompute above is pulse verify's, which
-- reads the holders from pulse.booking_ids, the truth it checks the projections against.

-- name: recompute_conversion
create temp table recomputed_conversion as
select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
       data->>'destination' as destination,
       count(*) filter (where type = 'search.performed') as searches,
       count(*) filter (where type = 'checkout.started') as checkouts,
       count(*) filter (where type = 'booking.created') as bookings
from pulse.events e
where type in ('search.performed', 'checkout.started', 'booking.created')
  and (type <> 'booking.created'
       or coalesce(e.holds_booking,
                   (select i.event_id from pulse.booking_ids i where i.booking_id = e.data->>'booking_id') = e.event_id))
group by 1, 2;

-- name: recompute_customers
create temp table recomputed_customers as
select data->>'customer_id' as customer_id,
       count(*) filter (where type = 'search.performed') as searches,
       count(*) filter (where type = 'checkout.started') as checkouts,
       count(*) filter (where type = 'booking.created') as bookings,
       sum((data->>'total_amount')::numeric) filter (where type = 'booking.created') as booked_amount,
       min(occurred_at), max(occurred_at)
from pulse.events e
left join pulse.booking_ids b using (event_id)
where type in ('customer.registered', 'search.performed', 'checkout.started', 'booking.created')
  and data->>'customer_id' is not null
  and (type <> 'booking.created' or b.booking_id = e.data->>'booking_id')
group by 1;

-- name: recompute_signals
-- The signals projection's tables recomputed from all events: bookings (the
-- creations that hold their booking_id), per-minute figures where a
-- cancellation or payment counts under its booking when the creation comes
-- before it in the log, searches per minute, values per day, and the events
-- still waiting for their booking.
create temp table recomputed_signals_bookings as
select e.data->>'booking_id' as booking_id, e.data->>'destination' as destination,
       e.data->>'booking_type' as booking_type, e.data->>'currency' as currency,
       (e.data->>'total_amount')::numeric as total, e.xact_id, e.seq, e.occurred_at
from pulse.events e
where e.type = 'booking.created'
  and coalesce(e.holds_booking,
               (select i.event_id from pulse.booking_ids i where i.booking_id = e.data->>'booking_id') = e.event_id);

create temp table recomputed_signals_minutely as
select date_bin('1 minute', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
       coalesce(b.destination, '') as destination, coalesce(b.booking_type, '') as booking_type,
       case when e.type = 'booking.cancelled' then coalesce(b.currency, '') else e.data->>'currency' end as currency,
       count(*) filter (where e.type = 'booking.created') as bookings,
       coalesce(sum(b.total) filter (where e.type = 'booking.created'), 0) as gross_revenue,
       min(b.total) filter (where e.type = 'booking.created') as min_value,
       max(b.total) filter (where e.type = 'booking.created') as max_value,
       count(*) filter (where e.type = 'booking.cancelled') as cancellations,
       count(*) filter (where e.type = 'payment.captured') as payments,
       coalesce(sum((e.data->>'amount')::numeric)
                  filter (where e.type = 'payment.captured' and b.currency = e.data->>'currency'), 0) as paid_amount,
       coalesce(sum(b.total) filter (where e.type = 'payment.captured' and b.currency = e.data->>'currency'), 0)
         as paid_of_total,
       count(*) filter (where e.type = 'payment.failed') as payment_failures
from pulse.events e
left join recomputed_signals_bookings b
  on b.booking_id = e.data->>'booking_id' and (b.xact_id, b.seq) <= (e.xact_id, e.seq)
where e.type in ('booking.created', 'booking.cancelled', 'payment.captured', 'payment.failed')
  and (e.type <> 'booking.created' or (b.xact_id, b.seq) = (e.xact_id, e.seq))
group by 1, 2, 3, 4;

create temp table recomputed_signals_searches as
select date_bin('1 minute', occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
       data->>'destination' as destination, count(*) as searches
from pulse.events
where type = 'search.performed'
group by 1, 2;

create temp table recomputed_signals_values as
select (occurred_at at time zone 'UTC')::date as day, destination, booking_type, currency,
       count(*) as bookings, tdigest(total::float8, 100) as values
from recomputed_signals_bookings
group by 1, 2, 3, 4;

create temp table recomputed_signals_held as
select e.data->>'booking_id' as booking_id, e.seq, e.type, e.received_at
from pulse.events e
where e.type in ('booking.modified', 'booking.cancelled', 'payment.captured', 'payment.failed')
  and not exists (select 1 from recomputed_signals_bookings b where b.booking_id = e.data->>'booking_id');

-- name: month_by_destination_views
-- The analyst's question: a month of daily revenue by destination, on the views
-- (analytics.destinations_daily: the rollup keyed by day, destination and
-- currency, the question's own grain, so its rows are the answer). A GROUP BY
-- over that key would sum one row per group: 1.8-2.8 ms instead of 1 ms here,
-- spent hashing and sorting 720 groups.
select day, destination, currency, gross_revenue, net_revenue
from analytics.destinations_daily
where day >= date '2026-06-01' and day < date '2026-07-01'
order by 1, 2, 3;

-- name: month_by_destination_raw
-- The same month's daily gross revenue by destination, straight from the raw events.
select (occurred_at at time zone (select timezone from analytics.settings))::date as day,
       data->>'destination' as destination, data->>'currency' as currency,
       sum((data->>'total_amount')::numeric) as gross_revenue
from pulse.events
where type = 'booking.created'
  and occurred_at >= (date '2026-06-01')::timestamp at time zone (select timezone from analytics.settings)
  and occurred_at < (date '2026-07-01')::timestamp at time zone (select timezone from analytics.settings)
group by 1, 2, 3
order by 1, 2, 3;
