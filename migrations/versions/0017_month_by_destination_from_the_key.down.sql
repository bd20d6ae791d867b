-- Revision 0017 undone: destinations_daily's key without its figures.
do $$
declare
  schema_name text;
begin
  foreach schema_name in array array['pulse_bookings', 'pulse_bookings_rebuild'] loop
    if to_regclass(schema_name || '.destinations_daily') is not null then
      execute format('alter table %I.destinations_daily drop constraint destinations_daily_pkey, '
                     'add constraint destinations_daily_pkey primary key (day, destination, currency)', schema_name);
    end if;
  end loop;
end
$$;
