-- One row of thresholds for analytics.customer_lifetime's segments. Analysts
-- change them with UPDATE; the view uses them at once.
create table analytics.customer_segment_rules (
  only_row          boolean primary key default true check (only_row),
  recent_days       integer not null default 90 check (recent_days > 0),
  lapsed_days       integer not null default 365 check (lapsed_days > 0),
  frequent_bookings integer not null default 3 check (frequent_bookings > 1),
  high_value        numeric not null default 5000 check (high_value > 0)
);
comment on table analytics.customer_segment_rules is 'Thresholds of the RFM segments in analytics.customer_lifetime; see docs/analytics.md.';
comment on column analytics.customer_segment_rules.recent_days is 'R: a customer whose last booking is at most this many days old is recent.';
comment on column analytics.customer_segment_rules.lapsed_days is 'A customer who booked, and whose latest registration, search, checkout, booking or cancellation of the latest booking is this many days old, is lapsed.';
comment on column analytics.customer_segment_rules.frequent_bookings is 'F: a customer with at least this many bookings is frequent.';
comment on column analytics.customer_segment_rules.high_value is 'M: lifetime net value, in the reporting currency, from which a customer is high value.';
insert into analytics.customer_segment_rules default values;
