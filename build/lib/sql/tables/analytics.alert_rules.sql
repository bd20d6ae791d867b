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
