create schema if not exists pulse;
comment on schema pulse is 'Booking Pulse internals: the event log, quarantine, projection checkpoints and rollup tables. Analysts query schema analytics instead.';
