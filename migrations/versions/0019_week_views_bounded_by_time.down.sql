-- Revision 0019 undone: the views as 0016 made them.
-- sql/views/analytics.top_destinations.sql as of 0016
create or replace view analytics.top_destinations as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

periods as (
  -- One row per period and day: joined by day, not by a range of days, the
  -- planner expects 24 hours a day and reads them through the rollup's key; a
  -- range of two unknown days it took for a ninth of the calendar, and scanned
  -- the whole rollup (90-120 ms at 10^7 events, 13-18 ms by day).
  select 'today' as period, day, reporting_currency from today
  union all
  select 'last_7_days', day - back, reporting_currency from today, generate_series(0, 6) as back
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
  join pulse.bookings_hourly_reported r using (day)
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

-- sql/views/analytics.revenue_by_booking_type.sql as of 0016
create or replace view analytics.revenue_by_booking_type as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

periods as (
  -- One row per period and day: joined by day, not by a range of days, the
  -- planner expects 24 hours a day and reads them through the rollup's key; a
  -- range of two unknown days it took for a ninth of the calendar, and scanned
  -- the whole rollup (55 ms at 10^7 events, 5 ms by day).
  select 'today' as period, day, reporting_currency from today
  union all
  select 'last_7_days', day - back, reporting_currency from today, generate_series(0, 6) as back
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
join pulse.bookings_hourly_reported r using (day)
group by p.period, r.booking_type, p.reporting_currency;

