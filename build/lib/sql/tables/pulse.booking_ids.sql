-- Which event created each booking. Ingest claims the booking_id of every
-- booking.created here, so a second booking.created for the same booking is
-- rejected and quarantined instead of being counted twice.
create table pulse.booking_ids (
  booking_id text primary key,
  event_id   uuid not null
);
comment on table pulse.booking_ids is 'booking_id of every accepted booking.created, and the event that created it. Projections count a booking.created only if it is the one recorded here: a writer other than the API must claim the booking_id here in the same transaction.';

