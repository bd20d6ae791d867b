-- Revision 0012, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- tables/analytics.forecast_runs.sql
-- Every refresh of the demand forecasts and the customer predictions: when,
-- up to which day of history, how long it took, and what was fitted. The
-- server's schedule (PULSE_FORECAST_INTERVAL) reads the latest run per kind to
-- decide whether a refresh is due. See docs/forecasting.md.
create table analytics.forecast_runs (
  run_id       bigint      generated always as identity primary key,
  kind         text        not null check (kind in ('demand', 'customer_value')),
  generated_at timestamptz not null,
  history_to   date        not null,
  horizon_days integer     not null check (horizon_days > 0),
  items        integer     not null check (items >= 0),
  seconds      numeric     not null check (seconds >= 0),
  details      jsonb       not null default '{}'
);
create index forecast_runs_latest on analytics.forecast_runs (kind, generated_at desc);
comment on table analytics.forecast_runs is 'One row per refresh of analytics.demand_forecast (kind demand) or analytics.customer_prediction (kind customer_value), written in the same transaction as its results. See docs/forecasting.md.';
comment on column analytics.forecast_runs.run_id is 'Refresh number, in the order they were written.';
comment on column analytics.forecast_runs.kind is 'demand (daily bookings and revenue forecasts) or customer_value (BG/NBD and Gamma-Gamma predictions per customer).';
comment on column analytics.forecast_runs.generated_at is 'When the refresh started; its rows carry the same generated_at.';
comment on column analytics.forecast_runs.history_to is 'Last business day of history used (the calibration end for customer_value); the forecasts start the day after.';
comment on column analytics.forecast_runs.horizon_days is 'demand: days forecast (90); customer_value: length of the prediction period in days (365).';
comment on column analytics.forecast_runs.items is 'Series (demand) or customers (customer_value) written.';
comment on column analytics.forecast_runs.seconds is 'Wall-clock duration of the refresh: reading, fitting and writing.';
comment on column analytics.forecast_runs.details is 'demand: models chosen, too-short series, metrics not forecast and why; customer_value: fitted BG/NBD (r, alpha in weeks, a, b) and Gamma-Gamma (p, q, v) parameters, or why there are none.';

-- tables/analytics.forecast_series.sql
-- One row per forecast series of the latest demand refresh: what was done to
-- it and why (chosen model, backtest scores of every candidate, too-short
-- history, reconciliation). Replaced as a whole, with analytics.demand_forecast,
-- in the refresh's transaction.
create table analytics.forecast_series (
  series              text        primary key,
  metric              text        not null check (metric in ('bookings', 'revenue')),
  level               text        not null check (level in ('total', 'destination', 'booking_type')),
  destination         text,
  booking_type        text,
  unit                text        not null,
  model               text,
  base_model          text,
  reconciliation      text,
  backtest_mase       jsonb       not null default '{}',
  mase                double precision,
  mase_seasonal_naive double precision,
  backtest_days       integer,
  backtest_coverage_80 double precision,
  backtest_coverage_95 double precision,
  failed_models       text[]      not null default '{}',
  too_short           boolean     not null,
  reason              text,
  history_from        date,
  history_days        integer     not null,
  zero_filled_days    integer     not null,
  generated_at        timestamptz not null,
  check ((level = 'destination') = (destination is not null)),
  check ((level = 'booking_type') = (booking_type is not null))
);
create unique index forecast_series_key on analytics.forecast_series (metric, level, destination, booking_type) nulls not distinct;
comment on table analytics.forecast_series is 'Per series of the latest demand forecast: the model kept, the rolling-origin backtest scores of every candidate and of the seasonal naive forecast, too-short histories and reconciliation. See docs/forecasting.md.';
comment on column analytics.forecast_series.series is 'Series id: metric/total, metric/destination/NAME or metric/booking_type/NAME.';
comment on column analytics.forecast_series.metric is 'bookings (bookings created per business day) or revenue (their gross revenue, totals at creation, in the reporting currency).';
comment on column analytics.forecast_series.level is 'total (everything), destination or booking_type.';
comment on column analytics.forecast_series.destination is 'The destination of a destination series; NULL otherwise.';
comment on column analytics.forecast_series.booking_type is 'The booking type of a booking_type series; NULL otherwise.';
comment on column analytics.forecast_series.unit is 'bookings, or the ISO 4217 code of the revenue forecasts (the reporting currency at the refresh).';
comment on column analytics.forecast_series.model is 'Model whose numbers are in analytics.demand_forecast: a statsforecast model (AutoETS, AutoARIMA, MSTL, AutoTheta), SeasonalNaive, bottom_up (the total: sum of the destinations), too_short_fallback; NULL when the series is not forecast (reason says why).';
comment on column analytics.forecast_series.base_model is 'The series'' own model, chosen by the backtest, before reconciliation; NULL when too short or not forecast.';
comment on column analytics.forecast_series.reconciliation is 'NULL (destinations: the bottom level), bottom_up (the total) or scaled_to_total (booking types, scaled day by day to add up to the total).';
comment on column analytics.forecast_series.backtest_mase is 'Rolling-origin backtest MASE per candidate, SeasonalNaive included, as {"AutoETS": 0.91, ...}; null for a model that failed or where the scale is 0; {} when too short.';
comment on column analytics.forecast_series.mase is 'Backtest MASE of base_model (1 = as good as the in-sample seasonal naive error); NULL when too short or undefined.';
comment on column analytics.forecast_series.mase_seasonal_naive is 'Backtest MASE of the seasonal naive forecast (the baseline, always computed).';
comment on column analytics.forecast_series.backtest_days is 'Horizon of each backtest window, in days (3 windows).';
comment on column analytics.forecast_series.backtest_coverage_80 is 'Share of backtest days inside base_model''s own 80 % interval, before widening.';
comment on column analytics.forecast_series.backtest_coverage_95 is 'Share of backtest days inside base_model''s own 95 % interval, before widening.';
comment on column analytics.forecast_series.failed_models is 'Candidates that failed on this series in the backtest (an error or non-finite values).';
comment on column analytics.forecast_series.too_short is 'True when the history is shorter than 28 days: no model, the mean of the last 7 days as a flat line (reason says so).';
comment on column analytics.forecast_series.reason is 'Why the series is not modelled as usual: too short, no history, a failed model, missing exchange rates; NULL otherwise.';
comment on column analytics.forecast_series.history_from is 'First business day of the history used (the first day with a booking, within the last 730 days).';
comment on column analytics.forecast_series.history_days is 'Days of history, from history_from to the day before the forecasts start.';
comment on column analytics.forecast_series.zero_filled_days is 'Days inside the history without a booking: counted as 0.';
comment on column analytics.forecast_series.generated_at is 'When the refresh that wrote it started.';

-- tables/analytics.demand_forecast.sql
-- Daily demand forecasts of the latest refresh, 1 to 90 days ahead, with 80 %
-- and 95 % prediction intervals; per series of analytics.forecast_series.
-- Replaced as a whole in the refresh's transaction: readers see one
-- generation or the next, never a mix.
create table analytics.demand_forecast (
  series       text             not null,
  metric       text             not null,
  level        text             not null,
  destination  text,
  booking_type text,
  day          date             not null,
  model        text             not null,
  forecast     double precision not null,
  lo80         double precision not null,
  hi80         double precision not null,
  lo95         double precision not null,
  hi95         double precision not null,
  generated_at timestamptz      not null,
  primary key (series, day),
  check (lo95 <= lo80 and lo80 <= forecast and forecast <= hi80 and hi80 <= hi95)
);
create index demand_forecast_day on analytics.demand_forecast (metric, level, day);
comment on table analytics.demand_forecast is 'Daily bookings and revenue forecasts for the next 90 business days, overall, per destination and per booking type, with 80 % and 95 % intervals. Destinations add up to the total, and so do booking types. See docs/forecasting.md.';
comment on column analytics.demand_forecast.series is 'Series id, as in analytics.forecast_series.';
comment on column analytics.demand_forecast.metric is 'bookings or revenue (gross, in analytics.forecast_series.unit).';
comment on column analytics.demand_forecast.level is 'total, destination or booking_type.';
comment on column analytics.demand_forecast.destination is 'The destination of a destination series; NULL otherwise.';
comment on column analytics.demand_forecast.booking_type is 'The booking type of a booking_type series; NULL otherwise.';
comment on column analytics.demand_forecast.day is 'Business day forecast (PULSE_TIMEZONE).';
comment on column analytics.demand_forecast.model is 'Model behind the numbers: see analytics.forecast_series.model.';
comment on column analytics.demand_forecast.forecast is 'Expected value for the day (mean forecast), never negative; an estimate, floating point.';
comment on column analytics.demand_forecast.lo80 is 'Lower bound of the 80 % prediction interval.';
comment on column analytics.demand_forecast.hi80 is 'Upper bound of the 80 % prediction interval.';
comment on column analytics.demand_forecast.lo95 is 'Lower bound of the 95 % prediction interval.';
comment on column analytics.demand_forecast.hi95 is 'Upper bound of the 95 % prediction interval.';
comment on column analytics.demand_forecast.generated_at is 'When the refresh that wrote it started.';

-- tables/analytics.customer_prediction.sql
-- Predicted customer value of the latest refresh: BG/NBD for repeat bookings
-- and Gamma-Gamma for their value, one row per customer with a booking.
-- Replaced as a whole in the refresh's transaction; joined into
-- analytics.customer_lifetime. See docs/forecasting.md.
create table analytics.customer_prediction (
  customer_id            text             primary key,
  probability_alive      double precision not null check (probability_alive between 0 and 1),
  expected_bookings_12m  double precision not null check (expected_bookings_12m >= 0),
  expected_value_12m     numeric,
  expected_booking_value numeric,
  repeat_bookings        integer          not null check (repeat_bookings >= 0),
  weeks_first_to_last    double precision not null,
  weeks_since_first      double precision not null,
  avg_repeat_value       numeric,
  reporting_currency     char(3)          not null,
  history_to             date             not null,
  generated_at           timestamptz      not null
);
comment on table analytics.customer_prediction is 'Per customer with a booking: probability of being still active, expected bookings and expected value over the next 12 months (BG/NBD and Gamma-Gamma, fitted on every customer). Parameters in analytics.forecast_runs. See docs/forecasting.md.';
comment on column analytics.customer_prediction.customer_id is 'Customer id as sent.';
comment on column analytics.customer_prediction.probability_alive is 'BG/NBD probability that the customer has not dropped out; 1 for a customer without repeat bookings.';
comment on column analytics.customer_prediction.expected_bookings_12m is 'Expected booking days in the 365 days after history_to (several bookings on one day count once), BG/NBD.';
comment on column analytics.customer_prediction.expected_value_12m is 'expected_bookings_12m x expected_booking_value, undiscounted, in reporting_currency, 2 places; NULL when the Gamma-Gamma model could not be fitted or an amount of the customer has no exchange rate.';
comment on column analytics.customer_prediction.expected_booking_value is 'Gamma-Gamma expected net value per booking day; the population mean for a customer without repeat bookings; 2 places.';
comment on column analytics.customer_prediction.repeat_bookings is 'Booking days after the first one, up to history_to (frequency, x).';
comment on column analytics.customer_prediction.weeks_first_to_last is 'Weeks from the first to the latest booking day (recency, t_x).';
comment on column analytics.customer_prediction.weeks_since_first is 'Weeks from the first booking day to the end of history_to (T).';
comment on column analytics.customer_prediction.avg_repeat_value is 'Mean net value of the repeat booking days (the first excluded), in reporting_currency; 0 without repeats; NULL when an amount has no exchange rate.';
comment on column analytics.customer_prediction.reporting_currency is 'Currency of the amounts: the reporting currency at the refresh.';
comment on column analytics.customer_prediction.history_to is 'Last business day of the history the prediction is conditioned on.';
comment on column analytics.customer_prediction.generated_at is 'When the refresh that wrote it started.';

-- views/analytics.demand_outlook.sql
create or replace view analytics.demand_outlook as
with settings as (
  select timezone, reporting_currency from analytics.settings
),

destination_forecasts as (
  select * from analytics.demand_forecast where level = 'destination'
),

destination_series as (
  select * from analytics.forecast_series where level = 'destination'
),

outlook_window as (
  -- The next 30 days: from today in the business time zone, or from the first
  -- day forecast when the latest refresh starts later. Last year: the same
  -- weekdays 52 weeks (364 days) earlier.
  select first_day,
         first_day + 29 as last_day,
         first_day - 364 as last_year_first_day,
         first_day - 364 + 29 as last_year_last_day
  from (
    select greatest(min(f.day), (now() at time zone s.timezone)::date) as first_day
    from destination_forecasts f cross join settings s
    group by s.timezone
  ) as starts
),

forecast as (
  select f.destination,
         count(distinct f.day) as days,
         sum(f.forecast) filter (where f.metric = 'bookings') as bookings,
         sum(f.forecast) filter (where f.metric = 'revenue') as revenue
  from destination_forecasts f
  cross join outlook_window w
  where f.day between w.first_day and w.last_day
  group by f.destination
),

last_year as (
  -- Bookings created and their gross revenue, converted at each hour's rate.
  select r.destination,
         sum(r.bookings) as bookings,
         case when bool_and(r.rate is not null or r.bookings = 0)
              then coalesce(sum(r.gross_revenue) filter (where r.bookings <> 0), 0) end as revenue
  from pulse.bookings_hourly_reported r
  cross join outlook_window w
  where r.day between w.last_year_first_day and w.last_year_last_day
    and r.bucket >= (w.last_year_first_day - 1)::timestamp at time zone 'UTC'
    and r.bucket < (w.last_year_last_day + 2)::timestamp at time zone 'UTC'
  group by r.destination
),

final as (
  select
    b.destination,
    w.first_day,
    w.last_day,
    f.days,
    round(f.bookings::numeric, 1) as forecast_bookings,
    coalesce(ly.bookings, 0) as last_year_bookings,
    case when b.history_from <= w.last_year_first_day and ly.bookings > 0
         then round((f.bookings / ly.bookings - 1)::numeric, 4) end as bookings_change,
    case when r.unit = s.reporting_currency then round(f.revenue::numeric, 2) end as forecast_revenue,
    case when ly.destination is null then 0 else ly.revenue end as last_year_revenue,
    case when b.history_from <= w.last_year_first_day and r.unit = s.reporting_currency and ly.revenue > 0
         then round((f.revenue / ly.revenue - 1)::numeric, 4) end as revenue_change,
    s.reporting_currency,
    w.last_year_first_day,
    w.last_year_last_day,
    b.history_from,
    b.history_from <= w.last_year_first_day as last_year_complete,
    b.model,
    b.too_short,
    b.reason,
    b.generated_at
  from destination_series b
  cross join outlook_window w
  cross join settings s
  join forecast f on f.destination = b.destination
  left join destination_series r on r.destination = b.destination and r.metric = 'revenue'
  left join last_year ly on ly.destination = b.destination
  where b.metric = 'bookings'
)

select * from final;

comment on view analytics.demand_outlook is 'Per destination: forecast bookings and revenue for the next 30 days against the same weekdays last year (52 weeks earlier), from the latest demand forecast. See docs/analytics.md.';
comment on column analytics.demand_outlook.destination is 'Destination as sent in booking.created.';
comment on column analytics.demand_outlook.first_day is 'First business day of the outlook: today, or the first day forecast when that is later.';
comment on column analytics.demand_outlook.last_day is 'Last business day of the outlook: first_day + 29.';
comment on column analytics.demand_outlook.days is 'Days of the outlook that have a forecast (30 unless the latest refresh is over 60 days old).';
comment on column analytics.demand_outlook.forecast_bookings is 'Sum of the daily bookings forecasts over the outlook, 1 place.';
comment on column analytics.demand_outlook.last_year_bookings is 'Bookings created from last_year_first_day to last_year_last_day.';
comment on column analytics.demand_outlook.bookings_change is 'forecast_bookings / last_year_bookings - 1; NULL when last year had no bookings or is not complete (see last_year_complete).';
comment on column analytics.demand_outlook.forecast_revenue is 'Sum of the daily gross revenue forecasts, in reporting_currency, 2 places; NULL when revenue was not forecast or was forecast in another currency.';
comment on column analytics.demand_outlook.last_year_revenue is 'Gross revenue of last year''s bookings in the same days, converted at each hour''s rate; NULL when a rate is missing.';
comment on column analytics.demand_outlook.revenue_change is 'forecast_revenue / last_year_revenue - 1; NULL when either is unknown or zero, or last year is not complete.';
comment on column analytics.demand_outlook.reporting_currency is 'Currency of the revenue columns.';
comment on column analytics.demand_outlook.last_year_first_day is 'first_day - 364: the same weekday a year earlier.';
comment on column analytics.demand_outlook.last_year_last_day is 'last_day - 364.';
comment on column analytics.demand_outlook.history_from is 'First day with a booking for the destination in the history the forecast used (at most 730 days back).';
comment on column analytics.demand_outlook.last_year_complete is 'True when the destination''s history starts on or before last_year_first_day, so last year''s figures are comparable; a newer destination has no change figures.';
comment on column analytics.demand_outlook.model is 'Model of the destination''s bookings forecast (too_short_fallback for a short history).';
comment on column analytics.demand_outlook.too_short is 'True when the destination''s history was too short to fit a model (reason says what is shown instead).';
comment on column analytics.demand_outlook.reason is 'Why the bookings forecast is not a fitted model; NULL otherwise.';
comment on column analytics.demand_outlook.generated_at is 'When the forecast was made.';

-- views/analytics.customer_lifetime.sql
create or replace view analytics.customer_lifetime as
with rules as (
  select * from analytics.customer_segment_rules
),

amounts as (
  -- What each booking is worth over its life: its total at creation, then
  -- each modification's change and minus its refund, each at its own time.
  select b.customer_id, b.created_currency as currency,
         date_bin('1 hour', b.created_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         b.created_total as amount
  from pulse_bookings.bookings b
  union all
  select b.customer_id, c.currency, date_bin('1 hour', c.quarter, timestamptz '2000-01-01 00:00:00+00'),
         c.modification_delta - c.refunds
  from pulse_bookings.booking_contributions c
  join pulse_bookings.bookings b using (booking_id)
),

net_value as (
  select a.customer_id,
         case when bool_and(fx.rate is not null) then sum(a.amount * fx.rate) end as net_value,
         array_agg(distinct a.currency::text) filter (where fx.rate is null) as missing_rates
  from amounts a
  left join lateral analytics.fx_rate(a.currency, a.bucket) fx on true
  group by a.customer_id
),

booked as (
  select customer_id,
         count(*) as bookings,
         min(created_at) as first_booking_at,
         max(created_at) as last_booking_at,
         (array_agg(cancelled_at order by created_at desc, booking_id desc))[1] as last_booking_cancelled_at
  from pulse_bookings.bookings
  group by customer_id
),

customers as (
  select c.customer_id, c.registered_at, c.last_seen_at, c.last_search_at, c.last_checkout_at,
         coalesce(b.bookings, 0) as bookings, b.first_booking_at, b.last_booking_at, b.last_booking_cancelled_at,
         v.net_value, v.missing_rates,
         b.last_booking_at >= now() - make_interval(days => r.recent_days) as recent,
         coalesce(b.bookings, 0) >= r.frequent_bookings as frequent,
         v.net_value >= r.high_value as high_value,
         greatest(c.last_seen_at, b.last_booking_cancelled_at) < now() - make_interval(days => r.lapsed_days) as lapsed,
         greatest(b.last_booking_at, b.last_booking_cancelled_at) as last_booking_activity_at
  from pulse_customers.customers c
  left join booked b using (customer_id)
  left join net_value v using (customer_id)
  cross join rules r
),

predicted as (
  -- The latest refresh of the predictions; a value predicted in another
  -- reporting currency than today's is not shown.
  select p.customer_id, p.probability_alive, p.expected_bookings_12m,
         case when p.reporting_currency = s.reporting_currency then p.expected_value_12m end as expected_value_12m,
         p.generated_at
  from analytics.customer_prediction p
  cross join analytics.settings s
)

select
  customer_id,
  bookings as lifetime_bookings,
  net_value as lifetime_net_value,
  (select reporting_currency from analytics.settings) as reporting_currency,
  missing_rates,
  first_booking_at,
  last_booking_at,
  round(net_value / nullif(bookings, 0), 2) as avg_booking_value,
  case
    when bookings = 0 then 'prospect'
    when lapsed then 'lapsed'
    when recent and frequent and high_value then 'champion'
    when recent and frequent then 'loyal'
    when frequent then 'at_risk'
    when recent and bookings = 1 then 'new'
    when high_value then 'big_spender'
    else 'occasional'
  end as segment,
  case
    when bookings > 0 and lapsed then 'lapsed'
    when last_checkout_at >= coalesce(last_search_at, '-infinity')
         and last_checkout_at > coalesce(last_booking_activity_at, '-infinity') then 'in checkout'
    when last_search_at > coalesce(last_booking_activity_at, '-infinity') then 'searched'
    when last_booking_cancelled_at is not null then 'cancelled'
    when bookings > 0 then 'booked'
    else 'registered'
  end as journey_stage,
  registered_at,
  last_seen_at,
  p.probability_alive,
  p.expected_bookings_12m,
  p.expected_value_12m,
  p.generated_at as predicted_at
from customers
left join predicted p using (customer_id);

comment on view analytics.customer_lifetime is 'Per customer: lifetime bookings and net value in the reporting currency, RFM segment (thresholds in analytics.customer_segment_rules), journey stage, and the predicted value of the next 12 months. See docs/analytics.md.';
comment on column analytics.customer_lifetime.customer_id is 'Customer id as sent.';
comment on column analytics.customer_lifetime.lifetime_bookings is 'Bookings created.';
comment on column analytics.customer_lifetime.lifetime_net_value is 'Sum over their bookings of the total at creation plus modifications minus refunds, each converted at the rate in force at its time; NULL when a currency has no rate.';
comment on column analytics.customer_lifetime.reporting_currency is 'Currency of the amounts.';
comment on column analytics.customer_lifetime.missing_rates is 'Currencies of this customer''s amounts with no exchange rate; NULL when all converted.';
comment on column analytics.customer_lifetime.first_booking_at is 'Creation time of the first booking.';
comment on column analytics.customer_lifetime.last_booking_at is 'Creation time of the latest booking.';
comment on column analytics.customer_lifetime.avg_booking_value is 'lifetime_net_value / lifetime_bookings, 2 places.';
comment on column analytics.customer_lifetime.segment is 'First that applies: prospect (no booking), lapsed, champion (recent, frequent, high value), loyal (recent, frequent), at_risk (frequent, not recent), new (one recent booking), big_spender (high value), occasional.';
comment on column analytics.customer_lifetime.journey_stage is 'Latest step: lapsed (booked, then no activity for lapsed_days), in checkout, searched (after any booking), cancelled (latest booking cancelled), booked, or registered.';
comment on column analytics.customer_lifetime.registered_at is 'occurred_at of customer.registered; NULL when none arrived.';
comment on column analytics.customer_lifetime.last_seen_at is 'Latest occurred_at among the customer''s registrations, searches, checkouts and bookings.';
comment on column analytics.customer_lifetime.probability_alive is 'Predicted probability that the customer is still active (BG/NBD, analytics.customer_prediction); NULL without a booking or before the first refresh.';
comment on column analytics.customer_lifetime.expected_bookings_12m is 'Predicted booking days in the 12 months after the prediction''s history (BG/NBD).';
comment on column analytics.customer_lifetime.expected_value_12m is 'Predicted net value of the next 12 months in the reporting currency (BG/NBD x Gamma-Gamma), next to the historical lifetime_net_value; NULL when it could not be predicted.';
comment on column analytics.customer_lifetime.predicted_at is 'When the prediction was made (analytics.customer_prediction.generated_at).';

-- roles.sql
-- The application's database roles and what each may do (docs/operations.md).
-- Their names are <prefix>_owner, _ingest, _projector, _analyst and _dashboard,
-- the prefix coming from the setting pulse.role_prefix (PULSE_ROLE_PREFIX,
-- "pulse" when unset). Roles belong to the whole cluster: they are created
-- when missing and never dropped here. Applied last, after every object.
do $roles$
declare
  prefix     text := coalesce(nullif(current_setting('pulse.role_prefix', true), ''), 'pulse');
  owner_role text := prefix || '_owner';
  ingest     text := prefix || '_ingest';
  projector  text := prefix || '_projector';
  analyst    text := prefix || '_analyst';
  dashboard  text := prefix || '_dashboard';
  role_name  text;
  found      record;
begin
  foreach role_name in array array[owner_role, ingest, projector, analyst, dashboard] loop
    if not exists (select from pg_roles where rolname = role_name) then
      execute format('create role %I nologin', role_name);
    end if;
  end loop;
  -- The owner runs migrations and manages what the projector maintains.
  execute format('grant %I to %I', projector, owner_role);
  -- Sessions that log in as these roles: no endless statement, no transaction
  -- left open holding every projection back.
  execute format('alter role %I set statement_timeout = %L', ingest, '30s');
  execute format('alter role %I set statement_timeout = %L', dashboard, '30s');
  execute format('alter role %I set statement_timeout = %L', analyst, '5min');
  execute format('alter role %I set statement_timeout = %L', projector, '10min');
  foreach role_name in array array[ingest, projector, analyst, dashboard] loop
    execute format('alter role %I set idle_in_transaction_session_timeout = %L', role_name, '60s');
  end loop;

  -- Nothing is callable by everyone.
  revoke execute on all functions in schema pulse, analytics from public;
  -- Start from nothing, so that running this again converges on what it grants below (an
  -- owner keeps its own rights: revoking them from itself would take them away).
  for found in
    select format('%s %s', case when c.relkind = 'S' then 'sequence' else 'table' end, c.oid::regclass) as object,
           c.relowner
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname in ('pulse', 'analytics') or n.nspname like 'pulse\_%') and c.relkind in ('r', 'p', 'v', 'm', 'S')
    union all
    select format('function %s', p.oid::regprocedure), p.proowner
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('pulse', 'analytics')
  loop
    foreach role_name in array array[ingest, projector, analyst, dashboard] loop
      if found.relowner <> role_name::regrole then
        execute format('revoke all on %s from %I', found.object, role_name);
      end if;
    end loop;
  end loop;

  -- ingest: the write contract and the quarantine. Not even reading events.
  execute format('grant usage on schema pulse to %I, %I, %I', ingest, projector, dashboard);
  execute format('grant execute on function pulse.append_events(uuid[], text[], timestamptz[], jsonb[]) to %I', ingest);
  execute format('grant insert on pulse.quarantine to %I', ingest);
  -- Tokens are checked, and tickets signed, by the server's dashboard connections only:
  -- whoever holds the signing key can mint tickets.
  execute format(
    'grant execute on function pulse.token_scopes(uuid, bytea), pulse.token_still_valid(uuid), '
    'pulse.ticket_key_value() to %I', dashboard);

  -- projector: reads the log, keeps checkpoints, owns what it rebuilds (the
  -- projections' schemas and every view), and rebuilds through two functions
  -- that create and swap its schemas as their owner.
  execute format(
    'grant select on pulse.events, pulse.event_ids, pulse.booking_ids, pulse.calendar, pulse.retention_runs, '
    'pulse.quarantine to %I', projector);
  execute format(
    'grant select, insert, update, delete on pulse.projection_checkpoints, pulse.projection_batches to %I', projector);
  execute format('grant execute on function pulse.prepare_rebuild_schema(text), pulse.swap_rebuild_schema(text) to %I',
                 projector);
  execute format('grant execute on function pulse.next_batch_end(xid8, bigint, xid8, integer) to %I', projector);
  -- A swap drops the views over the old tables with them; the projector re-creates them.
  execute format('grant create on schema analytics, pulse to %I', projector);
  execute format('grant usage on schema analytics to %I, %I, %I', projector, analyst, dashboard);
  -- The projector owns the views, which read these tables with its rights.
  execute format('grant select on all tables in schema analytics to %I', projector);
  execute format('grant select on analytics.settings, analytics.fx_rates to %I', dashboard);
  -- The business settings: the server stores PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY at start.
  execute format('grant update on analytics.settings to %I', projector);
  -- Functions that run as their owner and read or write what the projector owns run as the projector:
  -- security definer code must never touch objects a less trusted role controls.
  execute format('grant truncate, insert on pulse.calendar to %I', projector);
  execute format('alter function pulse.apply_settings() owner to %I', projector);
  execute format('alter function analytics.bookings_series(timestamptz, timestamptz, text, text, text, text) owner to %I',
                 projector);
  for found in select nspname from pg_namespace where nspname like 'pulse\_%' loop
    execute format('alter schema %I owner to %I', found.nspname, projector);
    execute format('grant usage on schema %I to %I', found.nspname, dashboard);
  end loop;
  for found in
    select c.oid::regclass as relation, c.relkind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname like 'pulse\_%' and c.relkind in ('r', 'p'))
       or (n.nspname in ('pulse', 'analytics') and c.relkind = 'v')
  loop
    execute format('alter %s %s owner to %I', case found.relkind when 'v' then 'view' else 'table' end,
                   found.relation, projector);
  end loop;

  -- analyst: every view and table of analytics, the analytics functions, the segment thresholds to tune.
  execute format('grant select on all tables in schema analytics to %I', analyst);
  execute format('grant update on analytics.customer_segment_rules to %I', analyst);
  execute format('grant execute on all functions in schema analytics to %I, %I, %I', analyst, dashboard, projector);

  -- dashboard: what the stream and the snapshots read.
  execute format(
    'grant select on pulse.bookings_hourly_reported, pulse.calendar, pulse.projection_checkpoints, '
    'pulse.projection_batches to %I', dashboard);
  for found in select nspname from pg_namespace where nspname like 'pulse\_%' loop
    execute format('grant select on all tables in schema %I to %I', found.nspname, dashboard);
  end loop;
  -- Alerts and data quality: the server's background jobs (as the projector)
  -- detect, check and deliver; dashboards and analysts read; analysts may
  -- acknowledge or resolve an alert with an UPDATE of its status.
  execute format(
    'grant select, insert, update on analytics.alerts, analytics.dq_results to %I', projector);
  execute format('grant select, insert, update, delete on pulse.webhook_cursor, pulse.webhook_attempts to %I',
                 projector);
  execute format('grant select on pulse.alert_changes to %I, %I', projector, dashboard);
  execute format(
    'grant select on analytics.alerts, analytics.alert_rules, analytics.dq_results, analytics.dq_checks to %I',
    dashboard);
  execute format('grant update (status, acknowledged_by, resolved_by) on analytics.alerts to %I', analyst);
  -- Forecasts and predicted customer value: the projector writes them (pulse forecast
  -- run, and the server's schedule through it); dashboards read the forecasts
  -- (GET /v1/forecast); analysts read all of analytics already.
  execute format(
    'grant select, insert, update, delete on analytics.demand_forecast, analytics.forecast_series, '
    'analytics.customer_prediction, analytics.forecast_runs to %I', projector);
  execute format('grant select on analytics.demand_forecast, analytics.forecast_series to %I', dashboard);
  execute format('grant usage on all sequences in schema pulse, analytics to %I', projector);
  if to_regnamespace('procrastinate') is not null then
    -- The job queue that delivers webhooks.
    execute format('grant usage on schema procrastinate to %I', projector);
    execute format('grant select, insert, update, delete on all tables in schema procrastinate to %I', projector);
    execute format('grant usage on all sequences in schema procrastinate to %I', projector);
    execute format('grant execute on all functions in schema procrastinate to %I', projector);
  end if;
  -- /readyz compares the applied revision with the code's.
  if to_regclass('public.alembic_version') is not null then
    execute format('grant select on public.alembic_version to %I', projector);
  end if;

  -- What the projector creates later (a rebuild, a re-created view) is readable the same way.
  execute format('alter default privileges for role %I grant usage on schemas to %I', projector, dashboard);
  execute format('alter default privileges for role %I grant select on tables to %I', projector, dashboard);
  execute format('alter default privileges for role %I in schema analytics grant select on tables to %I',
                 projector, analyst);
end
$roles$;
