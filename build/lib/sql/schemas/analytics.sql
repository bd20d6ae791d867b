create schema if not exists analytics;
comment on schema analytics is 'Booking Pulse analytics: live views over the projections, exact up to the last projected event.';
