-- The hourly bookings rollup with its business day and its amounts in the
-- reporting currency; the single-currency views aggregate this. An amount
-- with no rate is NULL here, and rate IS NULL says so.
create or replace view pulse.bookings_hourly_reported as
select
  h.bucket,
  c.day,
  h.destination,
  h.booking_type,
  h.channel,
  h.currency,
  h.bookings,
  h.modifications,
  h.cancellations,
  fx.rate,
  h.gross_revenue * fx.rate as gross_revenue,
  h.refunds * fx.rate as refunds,
  (h.gross_revenue + h.modification_delta - h.refunds) * fx.rate as net_revenue
from pulse_bookings.hourly h
join pulse.calendar c using (bucket)
left join lateral analytics.fx_rate(h.currency, h.bucket) fx on true
-- Rows a late event left at zero: nothing to convert, so no missing rate either.
where h.bookings <> 0 or h.modifications <> 0 or h.modification_delta <> 0 or h.cancellations <> 0 or h.refunds <> 0;
