-- TimescaleDB makes pulse.events a hypertable. Where the extension is not
-- installed or not preloaded, Booking Pulse runs on plain PostgreSQL and says so.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'timescaledb')
     and current_setting('shared_preload_libraries') like '%timescaledb%' then
    create extension if not exists timescaledb;
  else
    raise notice 'TimescaleDB is not available: pulse.events is a plain table with a BRIN index';
  end if;
end
$$;
