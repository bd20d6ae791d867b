create or replace view analytics.destinations_daily as
-- Flat, like analytics.bookings_daily: a month ordered by day, destination and
-- currency then reads the primary key's range instead of sorting a subquery.
select
  day,
  destination,
  currency,
  bookings,
  gross_revenue,
  modifications,
  modification_delta as modification_revenue,
  cancellations,
  refunds,
  gross_revenue + modification_delta - refunds as net_revenue
from pulse_bookings.destinations_daily
-- A late event can move a booking's share out of a day and leave zeros behind.
where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0;

comment on view analytics.destinations_daily is 'analytics.bookings_daily without booking type and channel: per business day, destination and currency, kept as its own rollup so that months of revenue by destination read one row per day, destination and currency.';
comment on column analytics.destinations_daily.day is 'Local date of the events in the business time zone.';
comment on column analytics.destinations_daily.destination is 'Destination as sent in booking.created.';
comment on column analytics.destinations_daily.currency is 'ISO 4217 code; amounts in this view are in this currency, never converted.';
comment on column analytics.destinations_daily.bookings is 'Count of booking.created.';
comment on column analytics.destinations_daily.gross_revenue is 'Sum of total_amount of those bookings at creation, exact.';
comment on column analytics.destinations_daily.modifications is 'Count of booking.modified.';
comment on column analytics.destinations_daily.modification_revenue is 'Sum of the changes of total made by those modifications.';
comment on column analytics.destinations_daily.cancellations is 'Count of bookings cancelled this day.';
comment on column analytics.destinations_daily.refunds is 'Sum of the refunds of those cancellations.';
comment on column analytics.destinations_daily.net_revenue is 'gross_revenue + modification_revenue - refunds.';
