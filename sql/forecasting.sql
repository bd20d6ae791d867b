-- Queries of the demand forecasts and the predicted customer value
-- (app/forecasting/store.py, app/forecasts.py, docs/forecasting.md).

-- name: business_day
-- Today in the business time zone, and the settings the refresh records.
select (now() at time zone s.timezone)::date as today, s.timezone, s.reporting_currency::text as reporting_currency
from analytics.settings s;

-- name: projection_error
-- The bookings projection's last error: a failing projection leaves recent
-- days looking empty, so no forecast is made from it.
select last_error from pulse.projection_checkpoints where projection = %(projection)s;

-- name: try_lock
-- One refresh at a time, across processes and servers: a session lock held
-- for the whole refresh (reading, fitting, writing).
select pg_try_advisory_lock(hashtext('pulse.forecast_refresh'));

-- name: unlock
select pg_advisory_unlock(hashtext('pulse.forecast_refresh'));

-- name: latest_runs
-- The latest refresh of each kind.
select kind, max(generated_at) as generated_at
from analytics.forecast_runs
group by kind;

-- name: demand_history
-- Bookings created and their gross revenue in the reporting currency, per
-- business day, destination and booking type, from %(first_day)s to
-- %(last_day)s. Only days with bookings have a row; missing_rates lists the
-- currencies whose amounts could not be converted that day (revenue then
-- leaves them out).
select r.day,
       r.destination,
       r.booking_type,
       sum(r.bookings)::bigint as bookings,
       coalesce(sum(r.gross_revenue) filter (where r.bookings <> 0), 0) as revenue,
       array_agg(distinct r.currency::text) filter (where r.rate is null and r.bookings <> 0) as missing_rates
from pulse.bookings_hourly_reported r
where r.day between %(first_day)s::date and %(last_day)s::date
  -- A business day lies within a day of its UTC date: lets the rollup's key bound the scan.
  and r.bucket >= (%(first_day)s::date - 1)::timestamp at time zone 'UTC'
  and r.bucket < (%(last_day)s::date + 2)::timestamp at time zone 'UTC'
group by r.day, r.destination, r.booking_type
having sum(r.bookings) > 0
order by r.day, r.destination, r.booking_type;

-- name: customer_purchases
-- Per customer and business day of creation, their bookings' net value (total
-- at creation, plus modifications, minus refunds, each converted at its own
-- hour's rate, as in analytics.customer_lifetime), for bookings created up to
-- the business day %(last_day)s; missing_rate when an amount could not be
-- converted.
with settings as (
  select timezone from analytics.settings
),

booked as (
  select b.booking_id, b.customer_id, b.created_at, b.created_currency, b.created_total
  from pulse_bookings.bookings b
  cross join settings s
  where b.created_at < (%(last_day)s::date + 1)::timestamp at time zone s.timezone
),

amounts as (
  select b.booking_id, b.created_currency as currency,
         date_bin('1 hour', b.created_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         b.created_total as amount
  from booked b
  union all
  select c.booking_id, c.currency, date_bin('1 hour', c.quarter, timestamptz '2000-01-01 00:00:00+00'),
         c.modification_delta - c.refunds
  from pulse_bookings.booking_contributions c
  join booked b using (booking_id)
),

valued as (
  select a.booking_id, sum(a.amount * fx.rate) as value, bool_or(fx.rate is null) as missing_rate
  from amounts a
  left join lateral analytics.fx_rate(a.currency, a.bucket) fx on true
  group by a.booking_id
)

select b.customer_id,
       (b.created_at at time zone s.timezone)::date as day,
       coalesce(sum(v.value), 0) as value,
       bool_or(v.missing_rate) as missing_rate
from booked b
join valued v using (booking_id)
cross join settings s
group by 1, 2
order by 1, 2;

-- name: record_run
insert into analytics.forecast_runs (kind, generated_at, history_to, horizon_days, items, seconds, details)
values (%(kind)s, %(generated_at)s, %(history_to)s, %(horizon_days)s, %(items)s, %(seconds)s, %(details)s);

-- name: clear_demand
delete from analytics.demand_forecast;
delete from analytics.forecast_series;

-- name: copy_forecast_series
copy analytics.forecast_series (
  series, metric, level, destination, booking_type, unit, model, base_model, reconciliation, backtest_mase, mase,
  mase_seasonal_naive, backtest_days, backtest_coverage_80, backtest_coverage_95, failed_models, too_short, reason,
  history_from, history_days, zero_filled_days, generated_at
) from stdin;

-- name: copy_demand_forecast
copy analytics.demand_forecast (
  series, metric, level, destination, booking_type, day, model, forecast, lo80, hi80, lo95, hi95, generated_at
) from stdin;

-- name: clear_customer_prediction
delete from analytics.customer_prediction;

-- name: copy_customer_prediction
copy analytics.customer_prediction (
  customer_id, probability_alive, expected_bookings_12m, expected_value_12m, expected_booking_value, repeat_bookings,
  weeks_first_to_last, weeks_since_first, avg_repeat_value, reporting_currency, history_to, generated_at
) from stdin;

-- name: forecast_for
-- GET /v1/forecast: the bookings series of the latest refresh for a level and its filter.
select s.series, s.model, s.base_model, s.reconciliation, s.too_short, s.reason, s.history_days,
       s.zero_filled_days, s.generated_at
from analytics.forecast_series s
where s.metric = 'bookings'
  and s.level = %(level)s
  and s.destination is not distinct from %(destination)s::text
  and s.booking_type is not distinct from %(booking_type)s::text;

-- name: forecast_points
select day, forecast, lo80, hi80, lo95, hi95
from analytics.demand_forecast
where series = %(series)s
order by day
limit %(horizon)s;

-- name: forecast_actuals
-- Bookings per business day from %(first_day)s up to yesterday (today is not
-- over yet), zeros included, for the filters.
select (b.bucket at time zone s.timezone)::date as day, b.bookings
from analytics.settings s
cross join lateral analytics.bookings_series(
  %(first_day)s::date::timestamp at time zone s.timezone,
  (now() at time zone s.timezone)::date::timestamp at time zone s.timezone,
  'day', %(destination)s::text, %(booking_type)s::text
) b
order by b.bucket;

-- name: refresh_due
-- Whether a kind's latest refresh is older than %(seconds)s seconds, or missing.
select bool_or(r.generated_at is null or r.generated_at < now() - make_interval(secs => %(seconds)s)) as due
from (values ('demand'), ('customer_value')) as k (kind)
left join (
  select kind, max(generated_at) as generated_at from analytics.forecast_runs group by kind
) as r using (kind);
