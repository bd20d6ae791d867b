create or replace view analytics.top_destinations as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

periods as (
  -- One row per period and day, joined by day: a range of two unknown days the
  -- planner took for a ninth of the calendar, and it scanned the whole rollup
  -- (90-120 ms at 10^7 events, 13-18 ms by day).
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
  -- Today and the 6 days before lie in the last 9 days: a bound the rollup's key can use whatever
  -- the planner makes of the days.
  where r.bucket > now() - interval '9 days' and r.bucket < now() + interval '2 days'
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

comment on view analytics.top_destinations is 'Destinations ranked by net revenue in the reporting currency, today and over the last 7 days (today and the 6 days before, business time zone). Filter on rank for a top N.';
comment on column analytics.top_destinations.period is 'today or last_7_days.';
comment on column analytics.top_destinations.rank is 'Rank within the period by net_revenue, then bookings; destinations whose revenue cannot be converted come last.';
comment on column analytics.top_destinations.destination is 'Destination as sent in booking.created.';
comment on column analytics.top_destinations.bookings is 'Bookings created in the period.';
comment on column analytics.top_destinations.gross_revenue is 'Gross revenue of those bookings, converted; NULL when a currency has no rate.';
comment on column analytics.top_destinations.net_revenue is 'Gross revenue plus modifications minus refunds in the period, converted; NULL when a currency has no rate.';
comment on column analytics.top_destinations.reporting_currency is 'Currency of the amounts.';
comment on column analytics.top_destinations.missing_rates is 'Currencies with no exchange rate to the reporting currency; NULL when every amount converted.';
