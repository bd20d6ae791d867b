create table pulse.bookings_hourly_rollup (
  bucket           timestamptz not null,
  destination      text        not null,
  booking_type     text        not null,
  currency         char(3)     not null,
  bookings         bigint      not null,
  gross_revenue    numeric     not null,
  changed_in_batch bigint      not null,
  primary key (bucket, destination, booking_type, currency)
);
comment on table pulse.bookings_hourly_rollup is 'Rollup of booking.created by UTC hour; maintained by the bookings_hourly projection.';

-- The live stream reads the rows each projection batch changed.
create index bookings_hourly_rollup_changed on pulse.bookings_hourly_rollup (changed_in_batch);
