-- Revision 0005 undone.
drop function pulse.swap_rebuild_schema;
drop function pulse.prepare_rebuild_schema;
drop function pulse.ticket_key_value;
drop function pulse.token_still_valid;
drop function pulse.token_scopes;
drop table pulse.ticket_key;
drop table pulse.api_tokens;

-- The functions as 0002 made them, and no grants: the roles stay (they are cluster-wide).
-- Every bucket of a range, with zeros where nothing happened: charts and
-- alerts see a quiet hour as zero, not as a missing row.
create or replace function analytics.bookings_series(
  starts_at    timestamptz,
  ends_at      timestamptz,
  granularity  text default 'hour',
  destination  text default null,
  booking_type text default null,
  channel      text default null
)
returns table (
  bucket        timestamptz,
  bookings      bigint,
  cancellations bigint,
  gross_revenue numeric,
  refunds       numeric,
  net_revenue   numeric,
  missing_rates text[]
)
language plpgsql stable
as $$
begin
  if granularity not in ('hour', 'day') then
    raise exception 'granularity must be hour or day, not %', granularity;
  end if;
  if ends_at - starts_at > interval '3700 days' then
    raise exception 'a series spans at most 3700 days';
  end if;
  return query
  with buckets as (
    -- Hours, or the first hour of each business day, starting in [starts_at, ends_at).
    select c.bucket, c.day
    from pulse.calendar c
    where granularity = 'hour' and c.bucket >= starts_at and c.bucket < ends_at
    union all
    select min(c.bucket), c.day
    from pulse.calendar c, analytics.settings s
    where granularity = 'day'
      and c.day between (starts_at at time zone s.timezone)::date and (ends_at at time zone s.timezone)::date
    group by c.day
    having min(c.bucket) >= starts_at and min(c.bucket) < ends_at
  ),

  matching as (
    select r.*
    from pulse.bookings_hourly_reported r
    where (bookings_series.destination is null or r.destination = bookings_series.destination)
      and (bookings_series.booking_type is null or r.booking_type = bookings_series.booking_type)
      and (bookings_series.channel is null or r.channel = bookings_series.channel)
      and r.bucket >= starts_at and r.bucket < ends_at + interval '1 day'
  )

  -- A quiet bucket joins no rollup row: its amounts are zero, not unconvertible.
  select
    b.bucket,
    coalesce(sum(m.bookings), 0)::bigint,
    coalesce(sum(m.cancellations), 0)::bigint,
    case when bool_and(m.currency is null or m.rate is not null) then coalesce(sum(m.gross_revenue), 0) end,
    case when bool_and(m.currency is null or m.rate is not null) then coalesce(sum(m.refunds), 0) end,
    case when bool_and(m.currency is null or m.rate is not null) then coalesce(sum(m.net_revenue), 0) end,
    array_agg(distinct m.currency::text) filter (where m.currency is not null and m.rate is null)
  from buckets b
  left join matching m
    on m.day = b.day and (granularity = 'day' or m.bucket = b.bucket)
  group by b.bucket
  order by b.bucket;
end
$$;
comment on function analytics.bookings_series(timestamptz, timestamptz, text, text, text, text) is 'Bookings per hour or business day for every bucket starting in [starts_at, ends_at), zeros included; amounts in the reporting currency. NULL filters match everything.';
create or replace function pulse.apply_settings() returns trigger
language plpgsql set search_path = pulse, public as $$
declare
  bookings_schema text;
begin
  if not exists (select 1 from pg_timezone_names where name = new.timezone) then
    raise exception 'unknown time zone %', new.timezone
      using hint = 'Use an IANA name such as Europe/London or America/New_York.';
  end if;
  if exists (select 1
             from generate_series(timestamptz '2000-01-01 00:00+00', timestamptz '2040-01-01 00:00+00', interval '1 hour') as t
             where extract(minute from t at time zone new.timezone) <> 0) then
    raise exception 'time zone % has UTC offsets that are not whole hours', new.timezone
      using hint = 'Hourly rollups roll up into business days only where every UTC hour falls in one day.';
  end if;
  new.updated_at := now();
  if tg_op = 'INSERT' or new.timezone is distinct from old.timezone then
    truncate pulse.calendar;
    insert into pulse.calendar (bucket, day)
    select t, (t at time zone new.timezone)::date
    from generate_series(timestamptz '2000-01-01 00:00+00', timestamptz '2040-01-01 00:00+00', interval '1 hour') as t;
    -- Business days moved: the daily bookings rollup is the hourly one regrouped,
    -- in the live projection and in a rebuild under way.
    foreach bookings_schema in array array['pulse_bookings', 'pulse_bookings_rebuild'] loop
      if to_regclass(bookings_schema || '.daily') is not null then
        execute format(
          'truncate %1$I.daily; '
          'insert into %1$I.daily '
          'select c.day, h.destination, h.booking_type, h.channel, h.currency, '
          '       sum(h.bookings), sum(h.gross_revenue), sum(h.modifications), sum(h.modification_delta), '
          '       sum(h.cancellations), sum(h.refunds), hll_union_agg(h.customers), tdigest(h.booking_values) '
          'from %1$I.hourly h join pulse.calendar c using (bucket) '
          'group by 1, 2, 3, 4, 5', bookings_schema);
      end if;
    end loop;
  end if;
  return new;
end
$$;
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
set search_path = pulse, pg_catalog
as $$
#variable_conflict use_column
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
    select i.event_id, coalesce(b.event_id, c.event_id) as holder
    from incoming i
    left join pulse.booking_ids b on b.booking_id = i.data->>'booking_id'
    left join claimed c on c.booking_id = i.data->>'booking_id'
    where i.type = 'booking.created'
      and not exists (select 1 from claimed c2 where c2.event_id = i.event_id)
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

do $revoke$
declare
  prefix text := coalesce(nullif(current_setting('pulse.role_prefix', true), ''), 'pulse');
  role_name text;
  found record;
begin
  for found in
    select c.oid::regclass as relation, c.relkind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname like 'pulse\_%' and c.relkind in ('r', 'p')) or (n.nspname in ('pulse', 'analytics') and c.relkind = 'v')
  loop
    execute format('alter %s %s owner to %I', case found.relkind when 'v' then 'view' else 'table' end,
                   found.relation, current_user);
  end loop;
  for found in select nspname from pg_namespace where nspname like 'pulse\_%' loop
    execute format('alter schema %I owner to %I', found.nspname, current_user);
  end loop;
  foreach role_name in array array[prefix || '_ingest', prefix || '_projector', prefix || '_analyst', prefix || '_dashboard'] loop
    execute format('revoke all on all tables in schema pulse, analytics from %I', role_name);
    execute format('revoke all on all functions in schema pulse, analytics from %I', role_name);
    execute format('revoke all on schema pulse, analytics from %I', role_name);
    for found in select nspname from pg_namespace where nspname like 'pulse\_%' loop
      execute format('revoke all on all tables in schema %I from %I', found.nspname, role_name);
      execute format('revoke all on schema %I from %I', found.nspname, role_name);
    end loop;
  end loop;
  execute format('alter default privileges for role %I revoke all on schemas from %I', prefix || '_projector', prefix || '_dashboard');
  execute format('alter default privileges for role %I revoke all on tables from %I', prefix || '_projector', prefix || '_dashboard');
  execute format('alter default privileges for role %I in schema analytics revoke all on tables from %I', prefix || '_projector', prefix || '_analyst');
end
$revoke$;
grant execute on all functions in schema pulse, analytics to public;
