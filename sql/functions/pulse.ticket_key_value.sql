-- The ticket-signing key, for the server processes.
create or replace function pulse.ticket_key_value()
returns bytea
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select key from pulse.ticket_key
$$;
comment on function pulse.ticket_key_value() is 'The key the server signs dashboard tickets with.';
