-- Revision 0010 undone: the projector no longer reads other sessions' activity nor recomputes rollups.
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
