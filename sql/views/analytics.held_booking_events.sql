create or replace view analytics.held_booking_events as
select
  e.booking_id,
  count(*) as events,
  array_agg(distinct e.type) as types,
  min(e.occurred_at) as first_occurred_at,
  max(e.occurred_at) as last_occurred_at
from pulse_bookings.held h
join pulse_bookings.booking_events e using (booking_id)
group by e.booking_id;

comment on view analytics.held_booking_events is 'Modifications, cancellations and payments whose booking.created has not arrived yet. They are applied, in event-time order, when it does.';
comment on column analytics.held_booking_events.booking_id is 'The booking they belong to.';
comment on column analytics.held_booking_events.events is 'How many events are waiting.';
comment on column analytics.held_booking_events.types is 'Their event types.';
comment on column analytics.held_booking_events.first_occurred_at is 'Earliest occurred_at among them.';
comment on column analytics.held_booking_events.last_occurred_at is 'Latest occurred_at among them.';
