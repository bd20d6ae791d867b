-- Revision 0021 undone: customers packs its pages full again.
do $$
declare
  schema_name text;
begin
  foreach schema_name in array array['pulse_customers', 'pulse_customers_rebuild'] loop
    if to_regclass(schema_name || '.customers') is not null then
      execute format('alter table %I.customers reset (fillfactor)', schema_name);
    end if;
  end loop;
end
$$;
