-- Tables of the conversion projection (schema pulse_conversion, or
-- pulse_conversion_rebuild during a replay).

-- The funnel per UTC hour and destination.
create table hourly (
  bucket           timestamptz not null,
  destination      text        not null,
  searches         bigint      not null,
  checkouts        bigint      not null,
  bookings         bigint      not null,
  changed_in_batch bigint      not null,
  primary key (bucket, destination)
);
