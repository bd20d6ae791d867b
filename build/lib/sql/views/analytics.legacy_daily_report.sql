-- The legacy nightly MySQL report, live:
--   SELECT DATE(created_at), COUNT(*), SUM(total_amount), AVG(total_amount)
--   FROM bookings GROUP BY DATE(created_at)
create or replace view analytics.legacy_daily_report as
select
  day as booking_date,
  sum(bookings)::bigint as total_bookings,
  sum(gross_revenue) as revenue,
  round(sum(gross_revenue) / sum(bookings), 6) as avg_booking_value
from pulse_bookings.daily
group by day
having sum(bookings) > 0;

comment on view analytics.legacy_daily_report is 'Parity with the legacy nightly daily report: count, sum and average of created bookings per business day, every currency summed as is, as the legacy query did.';
comment on column analytics.legacy_daily_report.booking_date is 'Day of booking.created in the business time zone.';
comment on column analytics.legacy_daily_report.total_bookings is 'COUNT(*) of bookings created that day.';
comment on column analytics.legacy_daily_report.revenue is 'SUM(total_amount) at creation, all currencies added as the legacy report did.';
comment on column analytics.legacy_daily_report.avg_booking_value is 'AVG(total_amount): revenue / total_bookings to 6 places, as MySQL''s AVG over DECIMAL(…,2) gives.';
