-- The legacy nightly MySQL customer query, live:
--   SELECT customer_id, COUNT(*), SUM(total_amount), MAX(created_at)
--   FROM bookings GROUP BY customer_id
create or replace view analytics.legacy_customer_analytics as
select
  customer_id,
  bookings as lifetime_bookings,
  booked_amount as lifetime_value,
  last_booking_at as last_booking_date
from pulse_customers.customers
where bookings > 0;

comment on view analytics.legacy_customer_analytics is 'Parity with the legacy nightly customer query: per customer, count and sum of created bookings and the last creation time.';
comment on column analytics.legacy_customer_analytics.customer_id is 'Customer id as sent.';
comment on column analytics.legacy_customer_analytics.lifetime_bookings is 'COUNT(*) of bookings created.';
comment on column analytics.legacy_customer_analytics.lifetime_value is 'SUM(total_amount) at creation, all currencies added as the legacy query did.';
comment on column analytics.legacy_customer_analytics.last_booking_date is 'MAX(created_at): occurred_at of the latest booking.created.';
