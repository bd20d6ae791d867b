-- Alerts: one row per incident the detector (or a data-quality check) found.
-- One alert per kind and subject is open (or acknowledged) at a time; the
-- detector updates it while the condition lasts and resolves it when it ends.
-- People acknowledge or resolve with POST /v1/alerts/{id}/ack|resolve or an
-- UPDATE of status; pulse.alert_changes records each change for the stream
-- and the webhooks.
create table analytics.alerts (
  id              bigint      generated always as identity primary key,
  opened_at       timestamptz not null,
  kind            text        not null,
  subject         text        not null,
  observed        numeric,
  expected        numeric,
  severity        text        not null check (severity in ('info', 'warning', 'critical')),
  status          text        not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  resolved_at     timestamptz,
  details         jsonb       not null default '{}',
  rule            text,
  last_seen_at    timestamptz not null,
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_by     text,
  check ((status = 'resolved') = (resolved_at is not null))
);
create unique index alerts_one_per_kind_and_subject on analytics.alerts (kind, subject) where status <> 'resolved';
create index alerts_opened_at on analytics.alerts (opened_at);
create index alerts_resolved_at on analytics.alerts (resolved_at);
comment on table analytics.alerts is 'Alerts: anomalies, business rules and failing data-quality checks. Acknowledge with UPDATE ... SET status = ''acknowledged''; see docs/alerts.md.';
comment on column analytics.alerts.id is 'Alert id, as in the stream and the webhooks.';
comment on column analytics.alerts.opened_at is 'When the detector opened it (the time it ran as of).';
comment on column analytics.alerts.kind is 'What is wrong: bookings_drop, revenue_drop, conversion_drop, cancellations_spike, payment_failures_spike, no_bookings, payment_shortfall, booking_value_outlier, data_quality.';
comment on column analytics.alerts.subject is 'Where: all, destination=X, booking_type=Y, currency=Z, or check=NAME.';
comment on column analytics.alerts.observed is 'The figure observed when the alert last changed; details.unit says in what (count, ratio or a currency code).';
comment on column analytics.alerts.expected is 'What was expected instead, in the same unit.';
comment on column analytics.alerts.severity is 'info, warning or critical; it rises (escalation) while the alert is open.';
comment on column analytics.alerts.status is 'open, acknowledged (someone is on it) or resolved.';
comment on column analytics.alerts.resolved_at is 'When it was resolved; NULL while open or acknowledged.';
comment on column analytics.alerts.details is 'The rule, window, z-score, unit and the like, as JSON.';
comment on column analytics.alerts.rule is 'The analytics.alert_rules row that fired.';
comment on column analytics.alerts.last_seen_at is 'The latest detector run that still found the condition.';
comment on column analytics.alerts.acknowledged_at is 'When someone acknowledged it.';
comment on column analytics.alerts.acknowledged_by is 'Who acknowledged it, as they said.';
comment on column analytics.alerts.resolved_by is 'detector, or who resolved it by hand.';
