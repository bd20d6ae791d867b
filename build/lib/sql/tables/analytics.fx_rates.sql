create table analytics.fx_rates (
  currency    char(3)     not null check (currency ~ '^[A-Z]{3}$'),
  to_currency char(3)     not null check (to_currency ~ '^[A-Z]{3}$'),
  valid_from  timestamptz not null,
  rate        numeric     not null check (rate > 0),
  loaded_at   timestamptz not null default now(),
  primary key (currency, to_currency, valid_from),
  -- Rates change on the hour, so one rate holds for a whole hourly bucket.
  check (date_bin('1 hour', valid_from, timestamptz '2000-01-01 00:00+00') = valid_from)
);
comment on table analytics.fx_rates is 'Exchange rates: 1 unit of currency is rate units of to_currency from valid_from until the next rate. Load with pulse fx load FILE.csv.';
comment on column analytics.fx_rates.currency is 'ISO 4217 code converted from.';
comment on column analytics.fx_rates.to_currency is 'ISO 4217 code converted to; the views use the rates to analytics.settings.reporting_currency.';
comment on column analytics.fx_rates.valid_from is 'When the rate comes into force; on the hour.';
comment on column analytics.fx_rates.rate is 'Units of to_currency per unit of currency, exact.';
comment on column analytics.fx_rates.loaded_at is 'When this rate was last loaded or corrected.';
