-- Revision 0022 undone: held_booking_events reads booking_events alone again;
-- booking_events holds each booking's creation again, with the position of its
-- event while pulse.events still has it (the order of a history puts the
-- creation first whatever its position); and held goes.
create or replace view analytics.held_booking_events as
select
  e.booking_id,
  count(*) as events,
  array_agg(distinct e.type) as types,
  min(e.occurred_at) as first_occurred_at,
  max(e.occurred_at) as last_occurred_at
from pulse_bookings.booking_events e
where not exists (select 1 from pulse_bookings.bookings b where b.booking_id = e.booking_id)
group by e.booking_id;

do $$
declare
  schema_name text;
begin
  foreach schema_name in array array['pulse_bookings', 'pulse_bookings_rebuild'] loop
    if to_regclass(schema_name || '.held') is not null then
      execute format($sql$
        insert into %1$I.booking_events (booking_id, occurred_at, seq, type, amount, currency)
        select b.booking_id, b.created_at, coalesce(e.seq, 0), 'booking.created', b.created_total, b.created_currency
        from %1$I.bookings b
        left join pulse.booking_ids i using (booking_id)
        left join pulse.events e on e.event_id = i.event_id;
        drop table %1$I.held;
      $sql$, schema_name);
    end if;
  end loop;
end
$$;
