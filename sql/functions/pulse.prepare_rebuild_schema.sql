-- An empty schema for a projection's rebuild, owned like the live one. Runs as
-- its owner, so the projector needs no right to create schemas in the database.
create or replace function pulse.prepare_rebuild_schema(live_schema text)
returns void
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  rebuild_schema text := live_schema || '_rebuild';
  live_owner regrole;
begin
  select nspowner::regrole into live_owner from pg_namespace where nspname = live_schema;
  if live_schema !~ '^pulse_[a-z][a-z0-9_]*$' or live_schema like '%\_rebuild' or live_owner is null then
    raise exception 'no projection schema %', live_schema using errcode = 'invalid_schema_name';
  end if;
  execute format('drop schema if exists %I cascade', rebuild_schema);
  execute format('create schema %I authorization %s', rebuild_schema, live_owner);
end
$$;
comment on function pulse.prepare_rebuild_schema(text) is 'Drops and re-creates pulse_<name>_rebuild, owned like pulse_<name>: where a replay rebuilds a projection.';
