-- Data-quality checks and their thresholds, editable with SQL (app/dq.py runs them).
create table analytics.dq_checks (
  "check"     text    primary key,
  threshold   numeric not null,
  enabled     boolean not null default true,
  description text    not null
);
comment on table analytics.dq_checks is 'Data-quality checks and their thresholds; change them with SQL. See docs/alerts.md.';
comment on column analytics.dq_checks."check" is 'Name of the check; per-item checks are reported as name:item (freshness:booking.created).';
comment on column analytics.dq_checks.threshold is 'Above it (below it for volume) the check fails; its unit is in the description.';
comment on column analytics.dq_checks.enabled is 'false: not run.';
comment on column analytics.dq_checks.description is 'What it checks and the unit of its threshold.';

insert into analytics.dq_checks ("check", threshold, description) values
  ('quarantine_rate', 0.05, 'Validity: share of inputs quarantined in the last hour (ratio), when at least 20 arrived.'),
  ('duplicate_events', 0, 'Uniqueness: event ids stored more than once among the last hour''s events, and booking ids created twice (count).'),
  ('orphan_events', 0, 'Referential integrity: modifications, cancellations and payments waiting more than an hour for their booking (count).'),
  ('orphan_wait', 3600, 'Referential integrity: the age of what waits for its booking, beyond which it counts as orphaned (seconds).'),
  ('freshness', 1800, 'Freshness: seconds since the last booking.created, payment.captured and search.performed arrived, each checked while the same hour of past weeks had them.'),
  ('projection_lag_events', 50000, 'Freshness: events a projection has yet to apply (counted up to the threshold).'),
  ('projection_lag_seconds', 300, 'Freshness: seconds since the oldest event a projection has yet to apply arrived.'),
  ('oldest_transaction', 600, 'Freshness: age in seconds of the oldest open transaction, which holds every projection back.'),
  ('volume', 0.5, 'Volume: events of the last complete hour against the same hour of past weeks; fails below this ratio or above its inverse.'),
  ('reconciliation', 0, 'Reconciliation: rows where a projection differs from a recompute from the events (pulse verify''s queries, over the whole log; the server runs it at most hourly) (count).');
