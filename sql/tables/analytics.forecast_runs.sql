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
