create or replace view analytics.bookings_hourly as
-- Written flat, not as dbt-style CTEs: PostgreSQL never merges a view that has
-- a WITH into the query that reads it, so an analyst's ORDER BY ... LIMIT could
-- not use the primary key. The latest 10 hours of a 10^7-event log read and
-- sorted all 245,926 hours (843 ms); flat, they read 10 (1.2 ms).
select
  bucket,
  destination,
  booking_type,
  channel,
  currency,
  bookings,
  gross_revenue,
  modifications,
  modification_delta as modification_revenue,
  cancellations,
  refunds,
  gross_revenue + modification_delta - refunds as net_revenue,
  round(gross_revenue / nullif(bookings, 0), 2) as avg_booking_value,
  round(hll_cardinality(customers))::bigint as unique_customers,
  round(percentiles[1]::numeric, 2) as booking_value_p50,
  round(percentiles[2]::numeric, 2) as booking_value_p95
from pulse_bookings.hourly as rollup
-- tdigest_percentile is an aggregate: run it over this row's digest alone.
left join lateral (
  select tdigest_percentile(d, array[0.5, 0.95]) as percentiles
  from (values (rollup.booking_values)) as one (d)
) as p on true
-- A late event can move a booking's share out of an hour and leave zeros behind.
where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0;

comment on view analytics.bookings_hourly is 'Bookings per UTC hour, destination, booking type, channel and currency, in that currency. Live: exact up to the bookings projection checkpoint (GET /v1/status).';
comment on column analytics.bookings_hourly.bucket is 'Start of the UTC hour of the event: of booking.created for bookings, of the modification or cancellation for those.';
comment on column analytics.bookings_hourly.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings_hourly.booking_type is 'Booking type as sent in booking.created (flight, hotel, package, ...).';
comment on column analytics.bookings_hourly.channel is 'Sales channel as sent in booking.created; unknown when it was not sent.';
comment on column analytics.bookings_hourly.currency is 'ISO 4217 code; amounts in this view are in this currency, never converted.';
comment on column analytics.bookings_hourly.bookings is 'Count of booking.created.';
comment on column analytics.bookings_hourly.gross_revenue is 'Sum of total_amount of those bookings at creation, exact.';
comment on column analytics.bookings_hourly.modifications is 'Count of booking.modified in this hour.';
comment on column analytics.bookings_hourly.modification_revenue is 'Sum of the changes of total made by those modifications (new total minus the total before it).';
comment on column analytics.bookings_hourly.cancellations is 'Count of bookings cancelled in this hour (the first booking.cancelled of each booking).';
comment on column analytics.bookings_hourly.refunds is 'Sum of refund_amount of those cancellations; the booking''s total at cancellation when none was sent.';
comment on column analytics.bookings_hourly.net_revenue is 'gross_revenue + modification_revenue - refunds.';
comment on column analytics.bookings_hourly.avg_booking_value is 'gross_revenue / bookings, rounded to 2 places.';
comment on column analytics.bookings_hourly.unique_customers is 'Distinct customer_id of the bookings (hll: exact up to 160 customers, then about 2.3 % standard error).';
comment on column analytics.bookings_hourly.booking_value_p50 is 'Median total_amount at creation (tdigest estimate, 2 places).';
comment on column analytics.bookings_hourly.booking_value_p95 is '95th percentile of total_amount at creation (tdigest estimate, 2 places).';
