-- Revision 0016 undone: the views as 0002 and 0011 made them.
-- sql/views/analytics.bookings_hourly.sql before 0016
create or replace view analytics.bookings_hourly as
with rollup as (
  select * from pulse_bookings.hourly
),

final as (
  select
    bucket,
    destination,
    booking_type,
    channel,
    currency,
    bookings,
    gross_revenue,
    modifications,
    modification_delta as modification_revenue,
    cancellations,
    refunds,
    gross_revenue + modification_delta - refunds as net_revenue,
    round(gross_revenue / nullif(bookings, 0), 2) as avg_booking_value,
    round(hll_cardinality(customers))::bigint as unique_customers,
    round(percentiles[1]::numeric, 2) as booking_value_p50,
    round(percentiles[2]::numeric, 2) as booking_value_p95
  from rollup
  -- tdigest_percentile is an aggregate: run it over this row's digest alone.
  left join lateral (
    select tdigest_percentile(d, array[0.5, 0.95]) as percentiles
    from (values (rollup.booking_values)) as one (d)
  ) as p on true
  -- A late event can move a booking's share out of an hour and leave zeros behind.
  where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0
)

select * from final;

-- sql/views/analytics.bookings_daily.sql before 0016
create or replace view analytics.bookings_daily as
with rollup as (
  select * from pulse_bookings.daily
),

final as (
  select
    day,
    destination,
    booking_type,
    channel,
    currency,
    bookings,
    gross_revenue,
    modifications,
    modification_delta as modification_revenue,
    cancellations,
    refunds,
    gross_revenue + modification_delta - refunds as net_revenue,
    round(gross_revenue / nullif(bookings, 0), 2) as avg_booking_value,
    round(hll_cardinality(customers))::bigint as unique_customers,
    round(percentiles[1]::numeric, 2) as booking_value_p50,
    round(percentiles[2]::numeric, 2) as booking_value_p95
  from rollup
  left join lateral (
    select tdigest_percentile(d, array[0.5, 0.95]) as percentiles
    from (values (rollup.booking_values)) as one (d)
  ) as p on true
  -- A late event can move a booking's share out of a day and leave zeros behind.
  where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0
)

select * from final;

-- sql/views/analytics.destinations_daily.sql before 0016
create or replace view analytics.destinations_daily as
with rollup as (
  select * from pulse_bookings.destinations_daily
),

final as (
  select
    day,
    destination,
    currency,
    bookings,
    gross_revenue,
    modifications,
    modification_delta as modification_revenue,
    cancellations,
    refunds,
    gross_revenue + modification_delta - refunds as net_revenue
  from rollup
  -- A late event can move a booking's share out of a day and leave zeros behind.
  where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0
)

select * from final;

-- sql/views/analytics.top_destinations.sql before 0016
create or replace view analytics.top_destinations as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

periods as (
  select 'today' as period, day as first_day, day as last_day, reporting_currency from today
  union all
  select 'last_7_days', day - 6, day, reporting_currency from today
),

totals as (
  select
    p.period,
    p.reporting_currency,
    r.destination,
    sum(r.bookings)::bigint as bookings,
    case when bool_and(r.rate is not null) then sum(r.gross_revenue) end as gross_revenue,
    case when bool_and(r.rate is not null) then sum(r.net_revenue) end as net_revenue,
    array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
  from periods p
  join pulse.bookings_hourly_reported r on r.day between p.first_day and p.last_day
  group by p.period, p.reporting_currency, r.destination
)

select
  period,
  rank() over (partition by period order by net_revenue desc nulls last, bookings desc) as rank,
  destination,
  bookings,
  gross_revenue,
  net_revenue,
  reporting_currency,
  missing_rates
from totals;

-- sql/views/analytics.revenue_by_booking_type.sql before 0016
create or replace view analytics.revenue_by_booking_type as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

periods as (
  select 'today' as period, day as first_day, day as last_day, reporting_currency from today
  union all
  select 'last_7_days', day - 6, day, reporting_currency from today
)

select
  p.period,
  r.booking_type,
  sum(r.bookings)::bigint as bookings,
  case when bool_and(r.rate is not null) then sum(r.gross_revenue) end as gross_revenue,
  case when bool_and(r.rate is not null) then sum(r.net_revenue) end as net_revenue,
  p.reporting_currency,
  array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
from periods p
join pulse.bookings_hourly_reported r on r.day between p.first_day and p.last_day
group by p.period, r.booking_type, p.reporting_currency;

