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
