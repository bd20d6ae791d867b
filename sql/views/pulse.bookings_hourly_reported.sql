-- The hourly bookings rollup with its business day and its amounts in the
-- reporting currency; the single-currency views aggregate this. An amount
-- with no rate is NULL here, and rate IS NULL says so.
-- One row per hour and business day it lies in (pulse.calendar): where the
-- zone's offset is not a whole number of hours, the hour that holds local
-- midnight comes twice, each row with its share of the hour's figures (by
-- minutes, assuming them spread evenly over the hour), so sums by day count
-- that hour partly in each day, and sums by hour count it whole.
create or replace view pulse.bookings_hourly_reported as
select
  h.bucket,
  c.day,
  h.destination,
  h.booking_type,
  h.channel,
  h.currency,
  h.bookings * c.share as bookings,
  h.modifications * c.share as modifications,
  h.cancellations * c.share as cancellations,
  fx.rate,
  h.gross_revenue * c.share * fx.rate as gross_revenue,
  h.refunds * c.share * fx.rate as refunds,
  (h.gross_revenue + h.modification_delta - h.refunds) * c.share * fx.rate as net_revenue,
  c.share
from pulse_bookings.hourly h
join pulse.calendar c using (bucket)
left join lateral analytics.fx_rate(h.currency, h.bucket) fx on true
-- Rows a late event left at zero: nothing to convert, so no missing rate either.
where h.bookings <> 0 or h.modifications <> 0 or h.modification_delta <> 0 or h.cancellations <> 0 or h.refunds <> 0;
