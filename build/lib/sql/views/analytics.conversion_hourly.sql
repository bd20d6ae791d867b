create or replace view analytics.conversion_hourly as
select
  bucket,
  destination,
  searches,
  checkouts,
  bookings,
  round(bookings::numeric / nullif(searches, 0), 4) as search_to_booking_rate,
  round(bookings::numeric / nullif(checkouts, 0), 4) as checkout_to_booking_rate
from pulse_conversion.hourly;

comment on view analytics.conversion_hourly is 'The funnel per UTC hour and destination: events counted in the hour they happened.';
comment on column analytics.conversion_hourly.bucket is 'Start of the UTC hour.';
comment on column analytics.conversion_hourly.destination is 'Destination searched, checked out or booked.';
comment on column analytics.conversion_hourly.searches is 'search.performed events.';
comment on column analytics.conversion_hourly.checkouts is 'checkout.started events.';
comment on column analytics.conversion_hourly.bookings is 'booking.created events.';
comment on column analytics.conversion_hourly.search_to_booking_rate is 'bookings / searches, 4 places; NULL without searches. Can exceed 1: a booking may follow a search in an earlier hour.';
comment on column analytics.conversion_hourly.checkout_to_booking_rate is 'bookings / checkouts, 4 places; NULL without checkouts.';
