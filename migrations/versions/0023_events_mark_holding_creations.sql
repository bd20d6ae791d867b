-- Revision 0023, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- sql/tables/pulse.events.sql: holds_booking. Events stored before this revision keep NULL, and
-- readers look their holders up in pulse.booking_ids as before.
alter table pulse.events add column holds_booking boolean;
comment on column pulse.events.holds_booking is 'True for a booking.created stored by pulse.append_events, which stores only the creation that holds its booking_id. NULL otherwise: for a booking.created stored before revision 0002 or by a writer that bypasses the contract, pulse.booking_ids tells.';

-- functions/pulse.append_events.sql
-- The write contract: every writer appends events by calling this function (the
-- API, bulk loaders, the legacy import, tests), in its own transaction. It
-- stores the events whose event_id was never seen, in the order given, and
-- enforces what a unique index on the hypertable cannot:
-- - an event_id is stored once, ever (pulse.event_ids);
-- - a booking is created once: a booking.created whose booking_id another event
--   already created is not stored and comes back with booking_taken.
-- Each booking.created it stores holds its booking_id, and says so in
-- holds_booking: readers need not look it up in pulse.booking_ids.
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
    insert into pulse.events as e (event_id, type, occurred_at, data, holds_booking)
    select i.event_id, i.type, i.occurred_at, i.data, case when i.type = 'booking.created' then true end
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
    insert into pulse.events as e (event_id, type, occurred_at, data, holds_booking)
    select i.event_id, i.type, i.occurred_at, i.data, case when i.type = 'booking.created' then true end
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

-- roles.sql
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
  -- Start from nothing, so that running this again converges on what it grants below (an
  -- owner keeps its own rights: revoking them from itself would take them away).
  for found in
    select format('%s %s', case when c.relkind = 'S' then 'sequence' else 'table' end, c.oid::regclass) as object,
           c.relowner
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname in ('pulse', 'analytics') or n.nspname like 'pulse\_%') and c.relkind in ('r', 'p', 'v', 'm', 'S')
    union all
    select format('function %s', p.oid::regprocedure), p.proowner
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('pulse', 'analytics')
  loop
    foreach role_name in array array[ingest, projector, analyst, dashboard] loop
      if found.relowner <> role_name::regrole then
        execute format('revoke all on %s from %I', found.object, role_name);
      end if;
    end loop;
  end loop;

  -- ingest: the write contract and the quarantine. Not even reading events.
  execute format('grant usage on schema pulse to %I, %I, %I', ingest, projector, dashboard);
  execute format('grant execute on function pulse.append_events(uuid[], text[], timestamptz[], jsonb[]) to %I', ingest);
  execute format('grant insert on pulse.quarantine to %I', ingest);
  -- Tokens are checked, and tickets signed, by the server's dashboard connections only:
  -- whoever holds the signing key can mint tickets.
  execute format(
    'grant execute on function pulse.token_scopes(uuid, bytea), pulse.token_still_valid(uuid), '
    'pulse.ticket_key_value() to %I', dashboard);

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
  execute format('grant execute on function pulse.next_batch_end(xid8, bigint, xid8, integer) to %I', projector);
  -- The reconciliation check (the server's data-quality runs) recomputes rollups as pulse verify does.
  execute format('grant execute on function pulse.recompute_bookings_hourly(xid8, bigint, timestamptz) to %I',
                 projector);
  -- A swap drops the views over the old tables with them; the projector re-creates them.
  execute format('grant create on schema analytics, pulse to %I', projector);
  execute format('grant usage on schema analytics to %I, %I, %I', projector, analyst, dashboard);
  -- The projector owns the views, which read these tables with its rights.
  execute format('grant select on all tables in schema analytics to %I', projector);
  execute format('grant select on analytics.settings, analytics.fx_rates to %I', dashboard);
  -- The business settings: the server stores PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY at start.
  execute format('grant update on analytics.settings to %I', projector);
  -- Functions that run as their owner and read or write what the projector owns run as the projector:
  -- security definer code must never touch objects a less trusted role controls.
  execute format('grant truncate, insert on pulse.calendar to %I', projector);
  execute format('alter function pulse.apply_settings() owner to %I', projector);
  execute format('alter function analytics.bookings_series(timestamptz, timestamptz, text, text, text, text) owner to %I',
                 projector);
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
  -- Forecasts and predicted customer value: the projector writes them (pulse forecast
  -- run, and the server's schedule through it); dashboards read the forecasts
  -- (GET /v1/forecast); analysts read all of analytics already.
  execute format(
    'grant select, insert, update, delete on analytics.demand_forecast, analytics.forecast_series, '
    'analytics.customer_prediction, analytics.forecast_runs to %I', projector);
  execute format('grant select on analytics.demand_forecast, analytics.forecast_series to %I', dashboard);
  execute format('grant usage on all sequences in schema pulse, analytics to %I', projector);
  if to_regnamespace('procrastinate') is not null then
    -- The job queue that delivers webhooks.
    execute format('grant usage on schema procrastinate to %I', projector);
    execute format('grant select, insert, update, delete on all tables in schema procrastinate to %I', projector);
    execute format('grant usage on all sequences in schema procrastinate to %I', projector);
    execute format('grant execute on all functions in schema procrastinate to %I', projector);
  end if;
  -- The oldest-transaction check and gauge (docs/alerts.md) read xact_start of every session in
  -- pg_stat_activity, which hides it from roles without pg_read_all_stats.
  begin
    execute format('grant pg_read_all_stats to %I', projector);
  exception when insufficient_privilege then
    raise warning 'cannot grant pg_read_all_stats to %: the oldest-transaction check sees only its own sessions',
      projector using hint = 'A superuser can: grant pg_read_all_stats to ' || projector;
  end;
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
