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
