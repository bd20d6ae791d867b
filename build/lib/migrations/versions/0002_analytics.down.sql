-- Revision 0002 undone: back to 0001's hourly rollup. Extensions stay.
drop schema if exists pulse_bookings, pulse_bookings_rebuild, pulse_conversion, pulse_conversion_rebuild,
  pulse_customers, pulse_customers_rebuild cascade;
drop function analytics.bookings_series, analytics.fx_rate;
drop table analytics.settings, analytics.fx_rates, analytics.customer_segment_rules,
  pulse.calendar, pulse.booking_ids, pulse.retention_runs;
drop function pulse.apply_settings, pulse.recompute_bookings_hourly;
alter table pulse.projection_checkpoints drop column version, drop column generation,
  drop column last_error_event_id;
delete from pulse.projection_checkpoints
where projection in ('bookings', 'bookings.rebuild', 'conversion', 'conversion.rebuild', 'customers', 'customers.rebuild');

-- history/0001/bookings_hourly_rollup.sql
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

-- history/0001/analytics.bookings_hourly.sql
create or replace view analytics.bookings_hourly as
with rollup as (
  select * from pulse.bookings_hourly_rollup
),

final as (
  select
    bucket,
    destination,
    booking_type,
    currency,
    bookings,
    gross_revenue,
    round(gross_revenue / nullif(bookings, 0), 2) as avg_booking_value
  from rollup
)

select * from final;

comment on view analytics.bookings_hourly is 'Bookings created per UTC hour, destination, booking type and currency. Live: exact up to the projection checkpoint (see GET /v1/status).';
comment on column analytics.bookings_hourly.bucket is 'Start of the UTC hour of the booking''s occurred_at.';
comment on column analytics.bookings_hourly.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings_hourly.booking_type is 'Booking type as sent in booking.created (flight, hotel, package, ...).';
comment on column analytics.bookings_hourly.currency is 'ISO 4217 code; amounts are never converted here.';
comment on column analytics.bookings_hourly.bookings is 'Count of booking.created events.';
comment on column analytics.bookings_hourly.gross_revenue is 'Sum of total_amount of those bookings, exact.';
comment on column analytics.bookings_hourly.avg_booking_value is 'gross_revenue / bookings, rounded to 2 places.';
