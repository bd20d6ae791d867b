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
