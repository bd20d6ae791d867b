create or replace view analytics.bookings_daily as
-- Flat, like analytics.bookings_hourly (see there): the analyst's filters,
-- ORDER BY and LIMIT reach the primary key.
select
  day,
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
from pulse_bookings.daily as rollup
-- tdigest_percentile is an aggregate: run it over this row's digest alone.
left join lateral (
  select tdigest_percentile(d, array[0.5, 0.95]) as percentiles
  from (values (rollup.booking_values)) as one (d)
) as p on true
-- A late event can move a booking's share out of a day and leave zeros behind.
where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0;

comment on view analytics.bookings_daily is 'The figures of analytics.bookings_hourly per day of the business time zone (analytics.settings.timezone, any IANA zone), kept as its own rollup: each event counts on its local date. Distinct customers and percentiles are merged sketches, not sums.';
comment on column analytics.bookings_daily.day is 'Local date of the events in the business time zone; 23 or 25 hours long across DST changes.';
comment on column analytics.bookings_daily.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings_daily.booking_type is 'Booking type as sent in booking.created.';
comment on column analytics.bookings_daily.channel is 'Sales channel as sent in booking.created; unknown when it was not sent.';
comment on column analytics.bookings_daily.currency is 'ISO 4217 code; amounts in this view are in this currency, never converted.';
comment on column analytics.bookings_daily.bookings is 'Count of booking.created.';
comment on column analytics.bookings_daily.gross_revenue is 'Sum of total_amount of those bookings at creation, exact.';
comment on column analytics.bookings_daily.modifications is 'Count of booking.modified.';
comment on column analytics.bookings_daily.modification_revenue is 'Sum of the changes of total made by those modifications.';
comment on column analytics.bookings_daily.cancellations is 'Count of bookings cancelled this day.';
comment on column analytics.bookings_daily.refunds is 'Sum of the refunds of those cancellations.';
comment on column analytics.bookings_daily.net_revenue is 'gross_revenue + modification_revenue - refunds.';
comment on column analytics.bookings_daily.avg_booking_value is 'gross_revenue / bookings, rounded to 2 places.';
comment on column analytics.bookings_daily.unique_customers is 'Distinct customer_id over the day (merged hll: exact up to 160 customers, then about 2.3 % standard error).';
comment on column analytics.bookings_daily.booking_value_p50 is 'Median total_amount at creation over the day (merged tdigest estimate).';
comment on column analytics.bookings_daily.booking_value_p95 is '95th percentile of total_amount at creation over the day (merged tdigest estimate).';
