-- Revision 0007, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- tables/analytics.alert_rules.sql
-- The alert detector's rules, one row each: analysts change thresholds with
-- UPDATE (the next run uses them), switch a rule off with enabled = false, or
-- add a rule with INSERT. docs/alerts.md explains every column and rule.
create table analytics.alert_rules (
  rule                  text    primary key,
  kind                  text    not null,
  metric                text    not null check (metric in ('bookings', 'revenue', 'conversion', 'cancellations',
                                                           'payment_failures', 'paid_ratio', 'booking_value',
                                                           'data_quality')),
  direction             text    not null check (direction in ('drop', 'spike', 'zero', 'outside', 'fail')),
  window_minutes        integer check (window_minutes between 1 and 360),
  dimensions            text[]  not null default '{all,destination,booking_type}'
                                check (dimensions <@ '{all,destination,booking_type,currency}'),
  threshold             numeric not null check (threshold > 0),
  critical_threshold    numeric check (critical_threshold > 0),
  min_z                 numeric not null default 5 check (min_z >= 0),
  min_volume            numeric not null default 10 check (min_volume >= 0),
  severity              text    not null default 'warning' check (severity in ('info', 'warning', 'critical')),
  resolve_after_minutes integer not null default 15 check (resolve_after_minutes > 0),
  enabled               boolean not null default true,
  description           text    not null
);
comment on table analytics.alert_rules is 'Rules of the alert detector; change them with SQL, the next run (every minute) uses them. See docs/alerts.md.';
comment on column analytics.alert_rules.rule is 'Name of the rule.';
comment on column analytics.alert_rules.kind is 'Kind of the alerts it opens (analytics.alerts.kind); one open alert per kind and subject.';
comment on column analytics.alert_rules.metric is 'What it watches: bookings, revenue (reporting currency), conversion (bookings per search), cancellations, payment_failures (failed per payment attempt), paid_ratio (captured per booking total), booking_value, data_quality.';
comment on column analytics.alert_rules.direction is 'drop: observed at most threshold x expected; spike: at least threshold x expected; zero: none at all; outside: a booking value beyond the usual range by the factor threshold; fail: a data-quality check failing.';
comment on column analytics.alert_rules.window_minutes is 'The last N minutes; NULL: the current hour so far (pro rata) and the last complete hour.';
comment on column analytics.alert_rules.dimensions is 'Series watched: all (overall), destination, booking_type, currency (payments).';
comment on column analytics.alert_rules.threshold is 'Ratio of observed to expected that fires (drop: at most, spike: at least); for outside, the factor beyond the usual range; for paid_ratio, the captured share of the total.';
comment on column analytics.alert_rules.critical_threshold is 'Beyond this ratio the alert is critical (it escalates when it gets there); NULL: never.';
comment on column analytics.alert_rules.min_z is 'Significance the deviation must also reach, in standard deviations of the noise model: keeps chance from paging anyone.';
comment on column analytics.alert_rules.min_volume is 'Volume guard: drops need at least this many expected events in the window, spikes this many observed.';
comment on column analytics.alert_rules.severity is 'Severity of the alerts it opens: info, warning or critical.';
comment on column analytics.alert_rules.resolve_after_minutes is 'The detector resolves the alert once the rule has not fired for this long.';
comment on column analytics.alert_rules.enabled is 'false: the rule is not evaluated (its open alerts resolve).';
comment on column analytics.alert_rules.description is 'What the rule means, for people.';

insert into analytics.alert_rules
  (rule, kind, metric, direction, window_minutes, dimensions, threshold, critical_threshold, min_z, min_volume,
   severity, resolve_after_minutes, description)
values
  ('bookings_drop', 'bookings_drop', 'bookings', 'drop', null, '{all,destination,booking_type}', 0.7, 0.3, 5, 20,
   'warning', 30, 'Bookings this hour so far (pro rata) or last hour well below the same hour of past weeks.'),
  ('revenue_drop', 'revenue_drop', 'revenue', 'drop', null, '{all,destination,booking_type}', 0.7, 0.3, 5, 20,
   'warning', 30, 'Revenue this hour so far (pro rata) or last hour well below the same hour of past weeks.'),
  ('conversion_drop', 'conversion_drop', 'conversion', 'drop', null, '{all,destination}', 0.7, 0.3, 5, 20,
   'warning', 30, 'Bookings per search this hour so far or last hour well below the same hour of past weeks.'),
  ('cancellations_spike', 'cancellations_spike', 'cancellations', 'spike', null, '{all,destination,booking_type}',
   2, 5, 5, 10, 'warning', 30, 'Cancellations this hour so far (pro rata) or last hour well above past weeks.'),
  ('payment_failures_spike', 'payment_failures_spike', 'payment_failures', 'spike', null,
   '{all,destination,currency}', 2, 5, 5, 10, 'warning', 30,
   'Failed payments per attempt this hour so far or last hour well above past weeks.'),
  ('revenue_below_expected', 'revenue_drop', 'revenue', 'drop', 20, '{all,destination,booking_type}', 0.5, 0.2, 5, 8,
   'warning', 30, 'Revenue in the last 20 minutes below half of what the same minutes of past weeks brought.'),
  ('no_bookings', 'no_bookings', 'bookings', 'zero', 10, '{all,destination,booking_type}', 1, null, 5, 8,
   'critical', 15, 'No booking at all for 10 minutes where at least 8 are expected.'),
  ('cancellation_spike', 'cancellations_spike', 'cancellations', 'spike', 15, '{all,destination,booking_type}', 4, 10,
   5, 6, 'warning', 30, 'Cancellations in the last 15 minutes at least 4 times the usual.'),
  ('payment_failure_spike', 'payment_failures_spike', 'payment_failures', 'spike', 15, '{all,destination,currency}',
   4, 10, 5, 5, 'warning', 30, 'Failed payments per attempt in the last 15 minutes at least 4 times the usual.'),
  ('payment_shortfall', 'payment_shortfall', 'paid_ratio', 'drop', 30, '{all,destination,currency}', 0.5, 0.2, 0, 5,
   'warning', 30, 'Payments captured in the last 30 minutes cover less than half of their bookings'' totals.'),
  ('booking_value_outlier', 'booking_value_outlier', 'booking_value', 'outside', 15, '{destination}', 2, 10, 0, 200,
   'warning', 60, 'A booking value in the last 15 minutes below half the 0.5th percentile or above twice the 99.5th percentile of its destination and type over the last 28 days.'),
  ('data_quality', 'data_quality', 'data_quality', 'fail', null, '{all}', 1, null, 0, 0,
   'warning', 15, 'A data-quality check (analytics.dq_checks) failing in its latest run.');

-- tables/analytics.alerts.sql
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

-- tables/pulse.alert_changes.sql
-- Every change of an alert (opened, escalated, acknowledged, resolved), in
-- commit order, with the alert as the stream and the webhooks show it. Written
-- by a trigger on analytics.alerts under a lock held to commit, so seq order
-- is commit order and a reader following seq never skips a change.
create table pulse.alert_changes (
  seq        bigint      generated always as identity primary key,
  alert_id   bigint      not null,
  change     text        not null check (change in ('opened', 'escalated', 'acknowledged', 'resolved')),
  changed_at timestamptz not null default now(),
  alert      jsonb       not null
);
create index alert_changes_alert on pulse.alert_changes (alert_id);
comment on table pulse.alert_changes is 'Each alert change in commit order (seq): the stream''s alerts topic and the webhooks read it.';

-- tables/analytics.dq_checks.sql
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
  ('freshness', 1800, 'Freshness: seconds since the last booking.created and search.performed arrived, checked while the same hour of past weeks had them.'),
  ('projection_lag_events', 50000, 'Freshness: events a projection has yet to apply (counted up to the threshold).'),
  ('projection_lag_seconds', 300, 'Freshness: seconds since the oldest event a projection has yet to apply arrived.'),
  ('oldest_transaction', 600, 'Freshness: age in seconds of the oldest open transaction, which holds every projection back.'),
  ('volume', 0.5, 'Volume: events of the last complete hour against the same hour of past weeks; fails below this ratio or above its inverse.'),
  ('reconciliation', 0, 'Reconciliation: rows where a projection differs from a recompute from the events (pulse verify), over the last day (count).');

-- tables/analytics.dq_results.sql
-- Every data-quality check result, so that their history is queryable.
create table analytics.dq_results (
  run_at    timestamptz not null,
  "check"   text        not null,
  status    text        not null check (status in ('pass', 'fail', 'skipped')),
  observed  numeric,
  threshold numeric,
  details   jsonb       not null default '{}',
  primary key (run_at, "check")
);
create index dq_results_check on analytics.dq_results ("check", run_at desc);
comment on table analytics.dq_results is 'Every data-quality check result: pulse dq check and the server''s schedule write here.';
comment on column analytics.dq_results.run_at is 'When the run started; one run writes all its checks with the same run_at.';
comment on column analytics.dq_results."check" is 'The check (analytics.dq_checks), name:item for per-item checks.';
comment on column analytics.dq_results.status is 'pass, fail, or skipped (nothing to check, e.g. no traffic yet).';
comment on column analytics.dq_results.observed is 'What the check measured, in the unit of its threshold.';
comment on column analytics.dq_results.threshold is 'The threshold in force for this run.';
comment on column analytics.dq_results.details is 'More about the result, as JSON.';

-- tables/pulse.webhook_cursor.sql
-- How far alert changes have been handed to the job queue for webhook delivery.
create table pulse.webhook_cursor (
  only_row boolean primary key default true check (only_row),
  seq      bigint  not null
);
comment on table pulse.webhook_cursor is 'The last pulse.alert_changes seq queued for webhook delivery.';
insert into pulse.webhook_cursor (seq) values (0);

-- tables/pulse.webhook_attempts.sql
-- Every attempt to POST an alert change to a webhook (the job queue retries failures with backoff).
create table pulse.webhook_attempts (
  job_id      bigint      not null,
  change_seq  bigint      not null,
  url         text        not null,
  attempt     integer     not null,
  at          timestamptz not null default now(),
  status_code integer,
  error       text,
  duration_ms integer     not null,
  primary key (job_id, attempt)
);
create index webhook_attempts_change on pulse.webhook_attempts (change_seq);
comment on table pulse.webhook_attempts is 'Every POST of an alert change to a webhook: the job, its attempt number, the answer or the error.';

-- functions/pulse.record_alert_change.sql
-- Triggers of analytics.alerts: before a change, stamps acknowledgement and resolution, refuses
-- to reopen a resolved alert; after it, records each change that people see (opened,
-- escalated, acknowledged, resolved) in pulse.alert_changes. The lock, held to
-- commit, makes seq order commit order. The NOTIFY (a hint, on the projections'
-- channel, core.db.PROJECTIONS_CHANNEL) wakes the stream and the webhook dispatcher.
create or replace function pulse.record_alert_change()
returns trigger
language plpgsql
-- As its owner: whoever may change an alert (an analyst acknowledging it) needs no right on the change log.
security definer
set search_path = pg_catalog, pulse
as $$
declare
  change text;
  severities constant text[] := array['info', 'warning', 'critical'];
begin
  if tg_when = 'BEFORE' then
    if tg_op = 'UPDATE' and old.status = 'resolved' and new.status <> 'resolved' then
      raise exception 'alert % is resolved: it cannot be %', old.id, new.status
        using hint = 'The detector opens a new alert if the condition comes back.';
    end if;
    if new.status = 'acknowledged' and (tg_op = 'INSERT' or old.status = 'open') then
      new.acknowledged_at := coalesce(new.acknowledged_at, now());
    end if;
    if new.status = 'resolved' and (tg_op = 'INSERT' or old.status <> 'resolved') then
      new.resolved_at := coalesce(new.resolved_at, now());
    end if;
    return new;
  end if;
  if tg_op = 'UPDATE' then
    if new.status is distinct from old.status then
      change := case new.status when 'acknowledged' then 'acknowledged' when 'resolved' then 'resolved' end;
    elsif array_position(severities, new.severity) > array_position(severities, old.severity) then
      change := 'escalated';
    end if;
  else
    change := 'opened';
  end if;
  if change is null then
    return new;
  end if;
  perform pg_advisory_xact_lock(hashtext('pulse.alert_changes'));
  insert into pulse.alert_changes (alert_id, change, alert)
  values (new.id, change, jsonb_build_object(
    'id', new.id,
    'opened_at', to_char(new.opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'kind', new.kind,
    'subject', new.subject,
    'observed', new.observed::text,
    'expected', new.expected::text,
    'severity', new.severity,
    'status', new.status,
    'resolved_at', to_char(new.resolved_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'details', new.details));
  perform pg_notify('pulse_projections_v1', 'alerts');
  return new;
end
$$;
comment on function pulse.record_alert_change() is 'Trigger of analytics.alerts: records opened, escalated, acknowledged and resolved changes in pulse.alert_changes.';

-- triggers/alerts_stamp.sql
-- Acknowledgement and resolution times, and no reopening of a resolved alert.
create trigger alerts_stamp
  before insert or update on analytics.alerts
  for each row execute function pulse.record_alert_change();

-- triggers/alerts_record_changes.sql
-- Each change of an alert, in commit order, for the stream and the webhooks.
create trigger alerts_record_changes
  after insert or update on analytics.alerts
  for each row execute function pulse.record_alert_change();
