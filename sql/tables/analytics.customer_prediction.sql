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
