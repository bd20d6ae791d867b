-- Revision 0013 undone: the projector no longer reads other sessions' activity nor recomputes rollups.
do $$
declare
  projector text := coalesce(nullif(current_setting('pulse.role_prefix', true), ''), 'pulse') || '_projector';
begin
  execute format('revoke execute on function pulse.recompute_bookings_hourly(xid8, bigint, timestamptz) from %I',
                 projector);
  begin
    execute format('revoke pg_read_all_stats from %I', projector);
  exception when insufficient_privilege then
    raise warning 'cannot revoke pg_read_all_stats from %', projector;
  end;
end
$$;
update analytics.dq_checks
set description = 'Freshness: seconds since the last booking.created and search.performed arrived, checked while the same hour of past weeks had them.'
where "check" = 'freshness';
update analytics.dq_checks
set description = 'Reconciliation: rows where a projection differs from a recompute from the events (pulse verify), over the last day (count).'
where "check" = 'reconciliation';
