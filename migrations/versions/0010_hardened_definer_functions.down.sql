-- Revision 0010 undone: the functions and rights as 0009 left them.
comment on table pulse.ticket_key is 'The key signing dashboard tickets (256 random bits); replace the row to end every ticket at once.';
alter function pulse.apply_settings() owner to current_user;
alter function analytics.bookings_series(timestamptz, timestamptz, text, text, text, text) owner to current_user;

-- functions/pulse.append_events.sql
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
set search_path = pg_catalog, pulse
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

-- functions/pulse.record_alert_change.sql
-- Triggers of analytics.alerts: before a change, stamps acknowledgement and resolution, refuses
-- to reopen a resolved alert; after it, records each change that people see (opened,
-- escalated, acknowledged, resolved) in pulse.alert_changes. The lock, held to
-- commit, makes seq order commit order. The NOTIFY (a hint, on the projections'
-- channel, core.db.PROJECTIONS_CHANNEL) wakes the stream and the webhook dispatcher.
create or replace function pulse.record_alert_change()
returns trigger
language plpgsql
-- As its owner: whoever may change an alert (an analyst acknowledging it) needs no right on the change log.
security definer
set search_path = pg_catalog, pulse
as $$
declare
  change text;
  severities constant text[] := array['info', 'warning', 'critical'];
begin
  if tg_when = 'BEFORE' then
    if tg_op = 'UPDATE' and old.status = 'resolved' and new.status <> 'resolved' then
      raise exception 'alert % is resolved: it cannot be %', old.id, new.status
        using hint = 'The detector opens a new alert if the condition comes back.';
    end if;
    if new.status = 'acknowledged' and (tg_op = 'INSERT' or old.status = 'open') then
      new.acknowledged_at := coalesce(new.acknowledged_at, now());
    end if;
    if new.status = 'resolved' and (tg_op = 'INSERT' or old.status <> 'resolved') then
      new.resolved_at := coalesce(new.resolved_at, now());
    end if;
    return new;
  end if;
  if tg_op = 'UPDATE' then
    if new.status is distinct from old.status then
      change := case new.status when 'acknowledged' then 'acknowledged' when 'resolved' then 'resolved' end;
    elsif array_position(severities, new.severity) > array_position(severities, old.severity) then
      change := 'escalated';
    end if;
  else
    change := 'opened';
  end if;
  if change is null then
    return new;
  end if;
  perform pg_advisory_xact_lock(hashtext('pulse.alert_changes'));
  insert into pulse.alert_changes (alert_id, change, alert)
  values (new.id, change, jsonb_build_object(
    'id', new.id,
    'opened_at', to_char(new.opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'kind', new.kind,
    'subject', new.subject,
    'observed', new.observed::text,
    'expected', new.expected::text,
    'severity', new.severity,
    'status', new.status,
    'resolved_at', to_char(new.resolved_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'details', new.details));
  perform pg_notify('pulse_projections_v1', 'alerts');
  return new;
end
$$;
comment on function pulse.record_alert_change() is 'Trigger of analytics.alerts: records opened, escalated, acknowledged and resolved changes in pulse.alert_changes.';

-- functions/analytics.bookings_series.sql
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
language plpgsql stable security definer
-- Runs as its owner, so analysts need no access to schema pulse; the fixed
-- search_path keeps callers from substituting objects.
set search_path = pg_catalog
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

-- functions/pulse.prepare_rebuild_schema.sql
-- An empty schema for a projection's rebuild, owned like the live one. Runs as
-- its owner, so the projector needs no right to create schemas in the database.
create or replace function pulse.prepare_rebuild_schema(live_schema text)
returns void
language plpgsql security definer
set search_path = pg_catalog
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

-- functions/pulse.swap_rebuild_schema.sql
-- Makes a finished rebuild the live projection: drops the live schema (and the
-- views over it) and renames the rebuild in its place, in the caller's
-- transaction. Runs as its owner: renaming a schema needs a right on the
-- database that the projector does not have.
create or replace function pulse.swap_rebuild_schema(live_schema text)
returns void
language plpgsql security definer
set search_path = pg_catalog
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

-- functions/pulse.ticket_key_value.sql
-- The ticket-signing key, for the server processes.
create or replace function pulse.ticket_key_value()
returns bytea
language sql stable security definer
set search_path = pg_catalog
as $$
  select key from pulse.ticket_key
$$;
comment on function pulse.ticket_key_value() is 'The key the server signs dashboard tickets with.';

-- functions/pulse.token_scopes.sql
-- What a token may do: its scopes, or NULL when no live token has this id and
-- secret. Runs as its owner, so the application's roles need no access to
-- pulse.api_tokens itself.
create or replace function pulse.token_scopes(token_id uuid, secret_hash bytea)
returns text[]
language sql stable security definer
set search_path = pg_catalog
as $$
  select t.scopes
  from pulse.api_tokens t
  where t.token_id = token_scopes.token_id
    and t.secret_hash = token_scopes.secret_hash
    and t.revoked_at is null
$$;
comment on function pulse.token_scopes(uuid, bytea) is 'Scopes of a live token, given its id and the SHA-256 hash of its secret; NULL otherwise.';

-- functions/pulse.token_still_valid.sql
-- The scopes of a token a ticket was issued for, while the token is not revoked.
create or replace function pulse.token_still_valid(token_id uuid)
returns text[]
language sql stable security definer
set search_path = pg_catalog
as $$
  select t.scopes from pulse.api_tokens t where t.token_id = token_still_valid.token_id and t.revoked_at is null
$$;
comment on function pulse.token_still_valid(uuid) is 'Scopes of a token that is not revoked, by id alone: for tickets the server signed.';

-- Runs as its owner: whoever stores the settings needs no rights on the calendar or the rollups.
create or replace function pulse.apply_settings() returns trigger
language plpgsql security definer set search_path = pulse, public as $$
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
do $undo$
declare
  prefix text := coalesce(nullif(current_setting('pulse.role_prefix', true), ''), 'pulse');
begin
  execute format('revoke truncate, insert on pulse.calendar from %I', prefix || '_projector');
end
$undo$;

-- roles.sql as of 0009
-- The application's database roles and what each may do (docs/operations.md).
-- Their names are <prefix>_owner, _ingest, _projector, _analyst and _dashboard,
-- the prefix coming from the setting pulse.role_prefix (PULSE_ROLE_PREFIX,
-- "pulse" when unset). Roles belong to the whole cluster: they are created
-- when missing and never dropped here. Applied last, after every object.
do $roles$
declare
  prefix     text := coalesce(nullif(current_setting('pulse.role_prefix', true), ''), 'pulse');
  owner_role text := prefix || '_owner';
  ingest     text := prefix || '_ingest';
  projector  text := prefix || '_projector';
  analyst    text := prefix || '_analyst';
  dashboard  text := prefix || '_dashboard';
  role_name  text;
  found      record;
begin
  foreach role_name in array array[owner_role, ingest, projector, analyst, dashboard] loop
    if not exists (select from pg_roles where rolname = role_name) then
      execute format('create role %I nologin', role_name);
    end if;
  end loop;
  -- The owner runs migrations and manages what the projector maintains.
  execute format('grant %I to %I', projector, owner_role);
  -- Sessions that log in as these roles: no endless statement, no transaction
  -- left open holding every projection back.
  execute format('alter role %I set statement_timeout = %L', ingest, '30s');
  execute format('alter role %I set statement_timeout = %L', dashboard, '30s');
  execute format('alter role %I set statement_timeout = %L', analyst, '5min');
  execute format('alter role %I set statement_timeout = %L', projector, '10min');
  foreach role_name in array array[ingest, projector, analyst, dashboard] loop
    execute format('alter role %I set idle_in_transaction_session_timeout = %L', role_name, '60s');
  end loop;

  -- Nothing is callable by everyone.
  revoke execute on all functions in schema pulse, analytics from public;

  -- ingest: the write contract, the quarantine, and checking tokens. Not even reading events.
  execute format('grant usage on schema pulse to %I, %I, %I', ingest, projector, dashboard);
  execute format('grant execute on function pulse.append_events(uuid[], text[], timestamptz[], jsonb[]) to %I', ingest);
  execute format('grant insert on pulse.quarantine to %I', ingest);
  execute format(
    'grant execute on function pulse.token_scopes(uuid, bytea), pulse.token_still_valid(uuid), '
    'pulse.ticket_key_value() to %I, %I, %I', ingest, projector, dashboard);

  -- projector: reads the log, keeps checkpoints, owns what it rebuilds (the
  -- projections' schemas and every view), and rebuilds through two functions
  -- that create and swap its schemas as their owner.
  execute format(
    'grant select on pulse.events, pulse.event_ids, pulse.booking_ids, pulse.calendar, pulse.retention_runs, '
    'pulse.quarantine to %I', projector);
  execute format(
    'grant select, insert, update, delete on pulse.projection_checkpoints, pulse.projection_batches to %I', projector);
  execute format('grant execute on function pulse.prepare_rebuild_schema(text), pulse.swap_rebuild_schema(text) to %I',
                 projector);
  -- A swap drops the views over the old tables with them; the projector re-creates them.
  execute format('grant create on schema analytics, pulse to %I', projector);
  execute format('grant usage on schema analytics to %I, %I, %I', projector, analyst, dashboard);
  -- The projector owns the views, which read these tables with its rights.
  execute format('grant select on all tables in schema analytics to %I', projector);
  execute format('grant select on analytics.settings, analytics.fx_rates to %I', dashboard);
  -- The business settings: the server stores PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY at start.
  execute format('grant update on analytics.settings to %I', projector);
  for found in select nspname from pg_namespace where nspname like 'pulse\_%' loop
    execute format('alter schema %I owner to %I', found.nspname, projector);
    execute format('grant usage on schema %I to %I', found.nspname, dashboard);
  end loop;
  for found in
    select c.oid::regclass as relation, c.relkind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname like 'pulse\_%' and c.relkind in ('r', 'p'))
       or (n.nspname in ('pulse', 'analytics') and c.relkind = 'v')
  loop
    execute format('alter %s %s owner to %I', case found.relkind when 'v' then 'view' else 'table' end,
                   found.relation, projector);
  end loop;

  -- analyst: every view and table of analytics, the analytics functions, the segment thresholds to tune.
  execute format('grant select on all tables in schema analytics to %I', analyst);
  execute format('grant update on analytics.customer_segment_rules to %I', analyst);
  execute format('grant execute on all functions in schema analytics to %I, %I, %I', analyst, dashboard, projector);

  -- dashboard: what the stream and the snapshots read.
  execute format(
    'grant select on pulse.bookings_hourly_reported, pulse.calendar, pulse.projection_checkpoints, '
    'pulse.projection_batches to %I', dashboard);
  for found in select nspname from pg_namespace where nspname like 'pulse\_%' loop
    execute format('grant select on all tables in schema %I to %I', found.nspname, dashboard);
  end loop;
  -- Alerts and data quality: the server's background jobs (as the projector)
  -- detect, check and deliver; dashboards and analysts read; analysts may
  -- acknowledge or resolve an alert with an UPDATE of its status.
  execute format(
    'grant select, insert, update on analytics.alerts, analytics.dq_results to %I', projector);
  execute format('grant select, insert, update, delete on pulse.webhook_cursor, pulse.webhook_attempts to %I',
                 projector);
  execute format('grant select on pulse.alert_changes to %I, %I', projector, dashboard);
  execute format(
    'grant select on analytics.alerts, analytics.alert_rules, analytics.dq_results, analytics.dq_checks to %I',
    dashboard);
  execute format('grant update (status, acknowledged_by, resolved_by) on analytics.alerts to %I', analyst);
  execute format('grant usage on all sequences in schema pulse, analytics to %I', projector);
  if to_regnamespace('procrastinate') is not null then
    -- The job queue that delivers webhooks.
    execute format('grant usage on schema procrastinate to %I', projector);
    execute format('grant select, insert, update, delete on all tables in schema procrastinate to %I', projector);
    execute format('grant usage on all sequences in schema procrastinate to %I', projector);
    execute format('grant execute on all functions in schema procrastinate to %I', projector);
  end if;
  -- /readyz compares the applied revision with the code's.
  if to_regclass('public.alembic_version') is not null then
    execute format('grant select on public.alembic_version to %I', projector);
  end if;

  -- What the projector creates later (a rebuild, a re-created view) is readable the same way.
  execute format('alter default privileges for role %I grant usage on schemas to %I', projector, dashboard);
  execute format('alter default privileges for role %I grant select on tables to %I', projector, dashboard);
  execute format('alter default privileges for role %I in schema analytics grant select on tables to %I',
                 projector, analyst);
end
$roles$;
