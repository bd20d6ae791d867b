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
-- Only pg_catalog is searched (and pg_temp last): objects others can create never stand in for built-ins.
set search_path = pg_catalog, pg_temp
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
