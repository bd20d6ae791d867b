-- Revision 0006, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- projections/signals/tables.sql, in schema pulse_signals
create schema pulse_signals;
set local search_path to pulse_signals, public;
-- Tables of the signals projection (schema pulse_signals, or
-- pulse_signals_rebuild during a replay): what the alert detector and the
-- data-quality checks read (app/alerts.py, docs/alerts.md). Minute buckets, so
-- that the detector can look at the last few minutes, not only whole hours.

-- Each booking whose booking.created has been applied, with its log position:
-- a later cancellation or payment counts under the booking's destination and
-- type only if the creation comes before it in the log, whatever the batches.
create table bookings (
  booking_id   text    primary key,
  destination  text    not null,
  booking_type text    not null,
  currency     char(3) not null,
  total        numeric not null,
  xact_id      xid8    not null,
  seq          bigint  not null
);

-- Per UTC minute (of occurred_at), destination, booking type and currency.
-- Cancellations and payments whose booking was unknown at their log position
-- count under destination and booking type '' (unknown).
create table minutely (
  bucket           timestamptz not null,
  destination      text        not null,
  booking_type     text        not null,
  -- '' for a cancellation whose booking is unknown (a cancellation carries no currency).
  currency         text        not null,
  bookings         bigint      not null default 0,
  gross_revenue    numeric     not null default 0,
  min_value        numeric,
  max_value        numeric,
  cancellations    bigint      not null default 0,
  payments         bigint      not null default 0,
  -- Captures of known bookings in the booking's currency, and those bookings' totals at creation.
  paid_amount      numeric     not null default 0,
  paid_of_total    numeric     not null default 0,
  payment_failures bigint      not null default 0,
  changed_in_batch bigint      not null,
  primary key (bucket, destination, booking_type, currency)
);

-- Searches per UTC minute and destination: the top of the conversion funnel.
create table searches (
  bucket           timestamptz not null,
  destination      text        not null,
  searches         bigint      not null,
  changed_in_batch bigint      not null,
  primary key (bucket, destination)
);

-- Booking values per UTC day, destination, booking type and currency: the
-- usual range a new booking's value is compared with.
create table booking_values (
  day          date    not null,
  destination  text    not null,
  booking_type text    not null,
  currency     char(3) not null,
  bookings     bigint  not null,
  values       tdigest not null,
  primary key (day, destination, booking_type, currency)
);

-- Modifications, cancellations and payments whose booking.created has not been
-- applied: the referential-integrity check reports those waiting too long.
create table held (
  booking_id  text        not null,
  seq         bigint      not null,
  type        text        not null,
  received_at timestamptz not null,
  primary key (booking_id, seq)
);
create index held_received_at on held (received_at);
set local search_path to default;
