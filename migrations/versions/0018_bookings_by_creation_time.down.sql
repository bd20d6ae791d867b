-- Revision 0018 undone.
drop index if exists pulse_bookings.bookings_created_at;
drop index if exists pulse_bookings_rebuild.bookings_created_at;
