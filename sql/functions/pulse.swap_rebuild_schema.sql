-- Makes a finished rebuild the live projection: drops the live schema (and the
-- views over it) and renames the rebuild in its place, in the caller's
-- transaction. Runs as its owner: renaming a schema needs a right on the
-- database that the projector does not have.
create or replace function pulse.swap_rebuild_schema(live_schema text)
returns void
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  rebuild_schema text := live_schema || '_rebuild';
begin
  if live_schema !~ '^pulse_[a-z][a-z0-9_]*$' or live_schema like '%\_rebuild'
     or to_regnamespace(live_schema) is null or to_regnamespace(rebuild_schema) is null then
    raise exception 'no projection schema % with a rebuild', live_schema using errcode = 'invalid_schema_name';
  end if;
  execute format('drop schema %I cascade', live_schema);
  execute format('alter schema %I rename to %I', rebuild_schema, live_schema);
end
$$;
comment on function pulse.swap_rebuild_schema(text) is 'Replaces pulse_<name> with pulse_<name>_rebuild, in the caller''s transaction.';
