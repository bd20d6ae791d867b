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
