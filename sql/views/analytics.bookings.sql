create or replace view analytics.bookings as
select
  booking_id,
  customer_id,
  destination,
  booking_type,
  channel,
  case
    when cancelled_at is not null then 'cancelled'
    when modifications > 0 then 'modified'
    else 'confirmed'
  end as status,
  created_at,
  created_total,
  created_currency,
  current_total,
  current_currency as currency,
  modifications,
  cancelled_at,
  refunded as amount_refunded,
  coalesce(amount_paid, 0) as amount_paid,
  other_payments,
  last_event_at,
  -- The legacy bookings table's name for the current total, so that legacy
  -- report SQL runs unchanged (created_at and status already match).
  current_total as total_amount
from pulse_bookings.bookings;

comment on view analytics.bookings is 'Current state of each booking whose booking.created has arrived, after all its events in event-time order.';
comment on column analytics.bookings.booking_id is 'Booking id as sent.';
comment on column analytics.bookings.customer_id is 'Customer who booked.';
comment on column analytics.bookings.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings.booking_type is 'Booking type as sent in booking.created.';
comment on column analytics.bookings.channel is 'Sales channel; unknown when it was not sent.';
comment on column analytics.bookings.status is 'confirmed, modified (at least one booking.modified) or cancelled.';
comment on column analytics.bookings.created_at is 'occurred_at of booking.created.';
comment on column analytics.bookings.created_total is 'total_amount at creation.';
comment on column analytics.bookings.created_currency is 'Currency at creation.';
comment on column analytics.bookings.current_total is 'Total after the latest modification (by event time), or at creation.';
comment on column analytics.bookings.currency is 'Currency of current_total and amount_paid.';
comment on column analytics.bookings.modifications is 'Count of booking.modified.';
comment on column analytics.bookings.cancelled_at is 'occurred_at of the first booking.cancelled; NULL when not cancelled.';
comment on column analytics.bookings.amount_refunded is 'Refund of that cancellation: refund_amount, or the total in force then; 0 when not cancelled.';
comment on column analytics.bookings.amount_paid is 'Sum of payment.captured in the booking''s currency.';
comment on column analytics.bookings.other_payments is 'Payments captured in other currencies, as {"EUR": 12.50}; NULL when none.';
comment on column analytics.bookings.last_event_at is 'Latest occurred_at among the booking''s events.';
comment on column analytics.bookings.total_amount is 'current_total under its legacy name (the legacy bookings table''s total_amount): the total in force now.';
