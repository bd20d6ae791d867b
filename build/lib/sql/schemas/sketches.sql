-- Mergeable sketches for the rollups: hll for distinct customers, tdigest for
-- booking-value percentiles. Both merge exactly when hours roll into days.
create extension if not exists hll with schema public;
create extension if not exists tdigest with schema public;
