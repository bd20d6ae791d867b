-- Revision 0023 undone: the write contract as revision 0022 left it, and no holds_booking.
-- The write contract: every writer appends events by calling this function (the
-- API, bulk loaders, the legacy import, tests), in its own transaction. It
-- stores the events whose event_id was never seen, in the order given, and
-- enforces what a unique index on the hypertable cannot:
-- - an event_id is stored once, ever (pulse.event_ids);
-- - a booking is created once: a booking.created whose booking_id another event
--   already created is not stored and comes back with booking_taken.
-- Validating each event's fields is the caller's job (the API does it with the
-- event registry); this function refuses only what would corrupt the log.
-- Returns one row per stored event with its log position, and one per refused
-- booking.created with the event that holds the booking_id (NULL when a
-- concurrent transaction claimed it first). Duplicates return nothing.
create or replace function pulse.append_events(
  event_ids    uuid[],
  types        text[],
  occurred_ats timestamptz[],
  datas        jsonb[]
)
returns table (
  event_id      uuid,
  xact_id       bigint,
  seq           bigint,
  booking_taken boolean,
  taken_by      uuid
)
language plpgsql
-- Runs as its owner: writers need the right to call it, and no right on the tables.
security definer
-- Only pg_catalog is searched (and pg_temp last): objects others can create never stand in for built-ins.
set search_path = pg_catalog, pg_temp
-- A plan for the arrays at hand on every call: after five calls PostgreSQL may
-- switch to a generic plan, which guesses the array sizes and turned a
-- 5,000-event call from 0.5 s into 4-10 s.
set plan_cache_mode = force_custom_plan
as $$
#variable_conflict use_column
declare
  all_new boolean;
begin
  if cardinality(event_ids) is distinct from cardinality(types)
     or cardinality(event_ids) is distinct from cardinality(occurred_ats)
     or cardinality(event_ids) is distinct from cardinality(datas) then
    raise exception 'pulse.append_events: the four arrays must have one element per event'
      using errcode = 'invalid_parameter_value';
  end if;
  if exists (select 1 from unnest(event_ids, types, occurred_ats, datas) as i (event_id, type, occurred_at, data)
             where i.event_id is null or i.type is null or i.occurred_at is null
                or jsonb_typeof(i.data) is distinct from 'object'
                or (i.type = 'booking.created' and jsonb_typeof(i.data->'booking_id') is distinct from 'string')) then
    raise exception 'pulse.append_events: every event needs an event_id, a type, an occurred_at and a JSON object '
                    'as data, and a booking.created needs a booking_id string'
      using errcode = 'not_null_violation';
  end if;
  -- The common case first: no event seen before, no booking_id taken. Plain inserts check uniqueness as
  -- they insert; "on conflict do nothing" looks each key up beforehand, a fifth of this function's time.
  -- A unique violation undoes the block (a subtransaction), and the careful path below tells
  -- duplicates from conflicts.
  begin
    insert into pulse.booking_ids (booking_id, event_id)
    select i.data->>'booking_id', i.event_id
    from unnest(types, datas, event_ids) as i (type, data, event_id)
    where i.type = 'booking.created';
    insert into pulse.event_ids (event_id) select unnest(event_ids);
    all_new := true;
  exception when unique_violation then
    all_new := false;
  end;
  if all_new then
    return query
    insert into pulse.events as e (event_id, type, occurred_at, data)
    select i.event_id, i.type, i.occurred_at, i.data
    from unnest(event_ids, types, occurred_ats, datas) with ordinality as i (event_id, type, occurred_at, data, ord)
    order by i.ord
    returning e.event_id, e.xact_id::text::bigint, e.seq, false, null::uuid;
    return;
  end if;
  return query
  with incoming as (
    select *
    from unnest(event_ids, types, occurred_ats, datas) with ordinality as i (event_id, type, occurred_at, data, ord)
  ),
  claimed as (
    insert into pulse.booking_ids as b (booking_id, event_id)
    select i.data->>'booking_id', i.event_id from incoming i
    where i.type = 'booking.created'
      and not exists (select 1 from pulse.event_ids e where e.event_id = i.event_id)
    on conflict do nothing
    returning b.booking_id, b.event_id
  ),
  conflicts as (
    -- Claimed neither now nor before by this same event (a resend is a duplicate, not a conflict).
    -- "not in" is one hashed subplan, and claimed is searched only for the (rare) conflicts:
    -- joining claimed to every incoming row looped over it per row, quadratic in the request.
    select i.event_id,
           coalesce(b.event_id, (select c.event_id from claimed c where c.booking_id = i.data->>'booking_id'))
             as holder
    from incoming i
    left join pulse.booking_ids b on b.booking_id = i.data->>'booking_id'
    where i.type = 'booking.created'
      and i.event_id not in (select c2.event_id from claimed c2)
      and b.event_id is distinct from i.event_id
  ),
  fresh as (
    insert into pulse.event_ids as f (event_id)
    select i.event_id from incoming i where i.event_id not in (select c.event_id from conflicts c)
    on conflict do nothing
    returning f.event_id
  ),
  stored as (
    insert into pulse.events as e (event_id, type, occurred_at, data)
    select i.event_id, i.type, i.occurred_at, i.data
    from incoming i join fresh using (event_id)
    order by i.ord
    returning e.event_id, e.xact_id::text::bigint as xact_id, e.seq
  )
  select s.event_id, s.xact_id, s.seq, false, null::uuid from stored s
  union all
  select c.event_id, null::bigint, null::bigint, true, c.holder from conflicts c;
end
$$;

comment on function pulse.append_events(uuid[], text[], timestamptz[], jsonb[]) is 'The write contract: appends events once each (event_id) and creates each booking once (booking_id); returns their log positions. Every writer calls it.';

alter table pulse.events drop column holds_booking;
