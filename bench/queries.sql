-- Baselines and analyst queries for bench/run_all.py.

-- name: recompute_bookings
-- The bookings rollup recomputed from all events by one plain query.
create temp table recomputed_bookings as
select * from pulse.recompute_bookings_hourly('18446744073709551615'::xid8, 9223372036854775807);

-- name: recompute_bookings_full
-- Every table the bookings projection keeps, recomputed from all events: each
-- booking's state (its total and currency in force, modifications,
-- cancellation and refund, what was paid per currency), what its modifications
-- and cancellation contribute per quarter hour, the hourly and daily rollups
-- with their customer and booking-value sketches, the rollup by day and
-- destination, and the events still waiting for their booking. The recompute
-- above gives only the hourly rollup's sums. Each statement is a hash-joined
-- set-wise query (nested loops off: the temporary tables have no statistics);
-- tests/test_bench_queries.py checks that these tables equal the projection's.
-- In 16 MB of work_mem, as the recompute of customers: each ran 1-5 % faster
-- than in 4 MB, and the other recomputes did not (signals ran 3-5 % slower).
set local enable_nestloop = off;
set local work_mem = '16MB';

create temp table recomputed_bookings_created as
select e.data->>'booking_id' as booking_id, e.data->>'customer_id' as customer_id,
       e.data->>'destination' as destination, e.data->>'booking_type' as booking_type,
       coalesce(e.data->>'channel', 'unknown') as channel, e.occurred_at as created_at,
       (e.data->>'total_amount')::numeric as created_total, e.data->>'currency' as created_currency
from pulse.events e
where e.type = 'booking.created'
  and coalesce(e.holds_booking,
               (select i.event_id from pulse.booking_ids i where i.booking_id = e.data->>'booking_id') = e.event_id);

create temp table recomputed_bookings_steps as
with changes as (
  select e.data->>'booking_id' as booking_id, e.occurred_at, e.seq, e.type,
         (case e.type when 'booking.cancelled' then e.data->>'refund_amount' else e.data->>'total_amount' end)::numeric
           as amount,
         case when e.type = 'booking.modified' then e.data->>'currency' end as currency
  from pulse.events e
  where e.type in ('booking.modified', 'booking.cancelled')
),
history as (
  select h.*,
         row_number() over (partition by h.booking_id order by h.type <> 'booking.created', h.occurred_at, h.seq) as step
  from (
    select booking_id, created_at as occurred_at, null::bigint as seq, 'booking.created' as type,
           created_total as amount, created_currency as currency
    from recomputed_bookings_created c
    where exists (select 1 from changes x where x.booking_id = c.booking_id)
    union all
    select x.* from changes x
    where exists (select 1 from recomputed_bookings_created c where c.booking_id = x.booking_id)
  ) as h
),
numbered as (
  select history.*,
         count(*) filter (where type in ('booking.created', 'booking.modified')) over w as total_no,
         count(*) filter (where type = 'booking.cancelled') over w as cancellation_no
  from history
  window w as (partition by booking_id order by step)
),
totals as (
  select booking_id, total_no, amount as total, currency as total_currency,
         lag(amount) over w as previous_total, lag(currency) over w as previous_currency
  from numbered
  where type in ('booking.created', 'booking.modified')
  window w as (partition by booking_id order by total_no)
)
select n.*, t.total, t.total_currency, t.previous_total, t.previous_currency,
       date_bin('15 minutes', n.occurred_at, timestamptz '2000-01-01 00:00:00+00') as quarter
from numbered n
join totals t using (booking_id, total_no);

create temp table recomputed_bookings_contributions as
select booking_id, quarter, currency,
       sum(modifications)::integer as modifications, sum(delta) as modification_delta,
       sum(cancellations)::integer as cancellations, sum(refunds) as refunds
from (
  select booking_id, quarter, total_currency as currency, 1 as modifications, total as delta, 0 as cancellations, 0 as refunds
  from recomputed_bookings_steps where type = 'booking.modified'
  union all
  select booking_id, quarter, previous_currency, 0, -previous_total, 0, 0
  from recomputed_bookings_steps where type = 'booking.modified'
  union all
  select booking_id, quarter, total_currency, 0, 0, 1, coalesce(amount, total)
  from recomputed_bookings_steps where type = 'booking.cancelled' and cancellation_no = 1
) as changes
group by 1, 2, 3;

create temp table recomputed_bookings_bookings as
with state as (
  select booking_id,
         (array_agg(total order by step desc))[1] as current_total,
         (array_agg(total_currency order by step desc))[1] as current_currency,
         count(*) filter (where type = 'booking.modified') as modifications,
         min(occurred_at) filter (where type = 'booking.cancelled' and cancellation_no = 1) as cancelled_at,
         coalesce(sum(coalesce(amount, total)) filter (where type = 'booking.cancelled' and cancellation_no = 1), 0)
           as refunded,
         min(total_currency) filter (where type = 'booking.cancelled' and cancellation_no = 1) as refund_currency,
         max(occurred_at) as last_event_at
  from recomputed_bookings_steps
  group by booking_id
),
payments as (
  select e.data->>'booking_id' as booking_id, e.data->>'currency' as currency,
         sum((e.data->>'amount')::numeric) as amount, max(e.occurred_at) as last_at
  from pulse.events e
  where e.type = 'payment.captured'
  group by 1, 2
),
current as (
  select c.*, coalesce(s.current_total, c.created_total) as current_total,
         coalesce(s.current_currency, c.created_currency) as current_currency,
         coalesce(s.modifications, 0) as modifications, s.cancelled_at, coalesce(s.refunded, 0) as refunded,
         s.refund_currency, greatest(c.created_at, s.last_event_at) as history_last_at
  from recomputed_bookings_created c
  left join state s using (booking_id)
),
paid as (
  select p.booking_id,
         sum(p.amount) filter (where p.currency = c.current_currency) as amount_paid,
         jsonb_object_agg(p.currency, p.amount) filter (where p.currency <> c.current_currency) as other_payments,
         max(p.last_at) as last_at
  from payments p
  join current c using (booking_id)
  group by p.booking_id
)
select c.booking_id, c.customer_id, c.destination, c.booking_type, c.channel, c.created_at, c.created_total,
       c.created_currency, c.current_total, c.current_currency, c.modifications, c.cancelled_at, c.refunded,
       c.refund_currency, p.amount_paid, p.other_payments, greatest(c.history_last_at, p.last_at) as last_event_at
from current c
left join paid p using (booking_id);

create temp table recomputed_bookings_hourly as
with created as (
  select date_bin('1 hour', created_at, timestamptz '2000-01-01 00:00:00+00') as bucket, destination, booking_type,
         channel, created_currency as currency, count(*) as bookings, sum(created_total) as gross_revenue,
         hll_add_agg(hll_hash_text(customer_id)) as customers, tdigest(created_total::float8, 100) as booking_values
  from recomputed_bookings_bookings
  group by 1, 2, 3, 4, 5
),
changed as (
  select date_bin('1 hour', c.quarter, timestamptz '2000-01-01 00:00:00+00') as bucket, b.destination, b.booking_type,
         b.channel, c.currency, sum(c.modifications) as modifications, sum(c.modification_delta) as modification_delta,
         sum(c.cancellations) as cancellations, sum(c.refunds) as refunds
  from recomputed_bookings_contributions c
  join recomputed_bookings_bookings b using (booking_id)
  group by 1, 2, 3, 4, 5
)
select bucket, destination, booking_type, channel, currency,
       coalesce(n.bookings, 0) as bookings, coalesce(n.gross_revenue, 0) as gross_revenue,
       coalesce(x.modifications, 0) as modifications, coalesce(x.modification_delta, 0) as modification_delta,
       coalesce(x.cancellations, 0) as cancellations, coalesce(x.refunds, 0) as refunds,
       coalesce(n.customers, hll_empty()) as customers, n.booking_values
from created n
full join changed x using (bucket, destination, booking_type, channel, currency);

create temp table recomputed_bookings_daily as
with created as (
  select (b.created_at at time zone s.timezone)::date as day, b.destination, b.booking_type, b.channel,
         b.created_currency as currency, count(*) as bookings, sum(b.created_total) as gross_revenue,
         hll_add_agg(hll_hash_text(b.customer_id)) as customers, tdigest(b.created_total::float8, 100) as booking_values
  from recomputed_bookings_bookings b
  cross join analytics.settings s
  group by 1, 2, 3, 4, 5
),
changed as (
  select (c.quarter at time zone s.timezone)::date as day, b.destination, b.booking_type, b.channel, c.currency,
         sum(c.modifications) as modifications, sum(c.modification_delta) as modification_delta,
         sum(c.cancellations) as cancellations, sum(c.refunds) as refunds
  from recomputed_bookings_contributions c
  join recomputed_bookings_bookings b using (booking_id)
  cross join analytics.settings s
  group by 1, 2, 3, 4, 5
)
select day, destination, booking_type, channel, currency,
       coalesce(n.bookings, 0) as bookings, coalesce(n.gross_revenue, 0) as gross_revenue,
       coalesce(x.modifications, 0) as modifications, coalesce(x.modification_delta, 0) as modification_delta,
       coalesce(x.cancellations, 0) as cancellations, coalesce(x.refunds, 0) as refunds,
       coalesce(n.customers, hll_empty()) as customers, n.booking_values
from created n
full join changed x using (day, destination, booking_type, channel, currency);

create temp table recomputed_bookings_destinations_daily as
select day, destination, currency, sum(bookings)::bigint as bookings, sum(gross_revenue) as gross_revenue,
       sum(modifications)::bigint as modifications, sum(modification_delta) as modification_delta,
       sum(cancellations)::bigint as cancellations, sum(refunds) as refunds
from recomputed_bookings_daily
group by 1, 2, 3;

create temp table recomputed_bookings_held as
select e.data->>'booking_id' as booking_id, e.occurred_at, e.seq, e.type
from pulse.events e
where e.type in ('booking.modified', 'booking.cancelled', 'payment.captured')
  and not exists (select 1 from recomputed_bookings_created c where c.booking_id = e.data->>'booking_id');

-- Each recompute finds the creations that hold their booking_id in whichever of two ways is
-- faster for it: by the write contract's mark as the projections do (else from pulse.booking_ids),
-- or by a hash join to pulse.booking_ids. On make bench's database, alternating, with the mark and
-- with the join: conversion 0.96-0.98 s and 0.99-1.05 s, signals 4.30-4.38 s and 4.41-4.55 s,
-- customers 1.65-1.72 s and 1.47-1.52 s. recompute_bookings is pulse verify's, which reads the
-- holders from pulse.booking_ids, the truth it checks the projections against.

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
set local work_mem = '16MB';

create temp table recomputed_customers as
select data->>'customer_id' as customer_id,
       count(*) filter (where type = 'search.performed') as searches,
       count(*) filter (where type = 'checkout.started') as checkouts,
       count(*) filter (where type = 'booking.created') as bookings,
       sum((data->>'total_amount')::numeric) filter (where type = 'booking.created') as booked_amount,
       min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at,
       min(occurred_at) filter (where type = 'customer.registered') as registered_at,
       max(occurred_at) filter (where type = 'search.performed') as last_search_at,
       max(occurred_at) filter (where type = 'checkout.started') as last_checkout_at,
       min(occurred_at) filter (where type = 'booking.created') as first_booking_at,
       max(occurred_at) filter (where type = 'booking.created') as last_booking_at
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
