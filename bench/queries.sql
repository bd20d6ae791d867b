-- Baselines and analyst queries for bench/run_all.py.

-- name: recompute_bookings
-- The bookings rollup recomputed from all events by one plain query.
create temp table recomputed_bookings as
select * from pulse.recompute_bookings_hourly('18446744073709551615'::xid8, 9223372036854775807);

-- name: recompute_conversion
create temp table recomputed_conversion as
select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
       data->>'destination' as destination,
       count(*) filter (where type = 'search.performed') as searches,
       count(*) filter (where type = 'checkout.started') as checkouts,
       count(*) filter (where type = 'booking.created') as bookings
from pulse.events e
left join pulse.booking_ids b using (event_id)
where type in ('search.performed', 'checkout.started', 'booking.created')
  and (type <> 'booking.created' or b.booking_id = e.data->>'booking_id')
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

-- name: month_by_destination_views
-- The analyst's question: a month of daily revenue by destination, on the views.
select day, destination, currency, sum(gross_revenue) as gross_revenue, sum(net_revenue) as net_revenue
from analytics.bookings_daily
where day >= date '2026-06-01' and day < date '2026-07-01'
group by 1, 2, 3
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
