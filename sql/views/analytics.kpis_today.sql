create or replace view analytics.kpis_today as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

bookings as (
  select
    coalesce(sum(r.bookings), 0)::bigint as bookings,
    coalesce(sum(r.cancellations), 0)::bigint as cancellations,
    -- A sum that would leave out an amount with no exchange rate is NULL instead.
    case when bool_and(r.rate is not null) is not false then coalesce(sum(r.gross_revenue), 0) end as gross_revenue,
    case when bool_and(r.rate is not null) is not false then coalesce(sum(r.net_revenue), 0) end as net_revenue,
    case when bool_and(r.rate is not null) is not false then coalesce(sum(r.refunds), 0) end as refunds,
    array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
  from pulse.bookings_hourly_reported r
  join today using (day)
),

funnel as (
  -- An hour that holds local midnight counts by its share of minutes today (pulse.calendar).
  select
    coalesce(sum(f.searches * c.share), 0) as searches,
    coalesce(sum(f.checkouts * c.share), 0) as checkouts,
    coalesce(sum(f.bookings * c.share), 0) as bookings
  from pulse_conversion.hourly f
  join pulse.calendar c using (bucket)
  join today using (day)
)

select
  today.day,
  today.reporting_currency,
  b.bookings,
  b.gross_revenue as revenue,
  b.net_revenue,
  round(b.gross_revenue / nullif(b.bookings, 0), 2) as avg_booking_value,
  round(f.searches)::bigint as searches,
  round(f.bookings / nullif(f.searches, 0), 4) as conversion_rate,
  b.cancellations,
  b.refunds,
  b.missing_rates
from today, bookings b, funnel f;

comment on view analytics.kpis_today is 'Today so far, in the business time zone and the reporting currency: one row.';
comment on column analytics.kpis_today.day is 'Today in the business time zone.';
comment on column analytics.kpis_today.reporting_currency is 'Currency of every amount in this row.';
comment on column analytics.kpis_today.bookings is 'Bookings created today.';
comment on column analytics.kpis_today.revenue is 'Gross revenue of those bookings, converted at the rate in force at each booking; NULL when a currency has no rate (see missing_rates).';
comment on column analytics.kpis_today.net_revenue is 'Gross revenue plus today''s modifications minus today''s refunds, converted; NULL when a currency has no rate.';
comment on column analytics.kpis_today.avg_booking_value is 'revenue / bookings, rounded to 2 places.';
comment on column analytics.kpis_today.searches is 'search.performed events today.';
comment on column analytics.kpis_today.conversion_rate is 'Bookings per search today (the conversion projection''s counts), 4 places; NULL before the first search.';
comment on column analytics.kpis_today.cancellations is 'Bookings cancelled today.';
comment on column analytics.kpis_today.refunds is 'Refunds of today''s cancellations, converted; NULL when a currency has no rate.';
comment on column analytics.kpis_today.missing_rates is 'Currencies with amounts today but no exchange rate to the reporting currency; NULL when every amount converted.';
