-- Revision 0024, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- sql/projections/bookings/tables.sql: payments are added up in bookings, not kept one by one;
-- amount_paid is NULL when no payment is in the booking's currency.
do $$
declare
  schema_name text;
begin
  -- A replay's rebuild, if one is under way, too: it is swapped in for the live tables.
  foreach schema_name in array array['pulse_bookings', 'pulse_bookings_rebuild'] loop
    if to_regclass(schema_name || '.bookings') is not null then
      execute format($sql$
        alter table %1$I.bookings alter column amount_paid drop not null, alter column amount_paid drop default;
        -- Every payment is still in booking_events: a 0 with none in the booking's currency becomes NULL.
        update %1$I.bookings b set amount_paid = null
        where b.amount_paid = 0
          and not exists (select 1 from %1$I.booking_events e
                          where e.booking_id = b.booking_id and e.type = 'payment.captured'
                            and e.currency = b.current_currency);
        -- The payments of bookings that have arrived are in their amount_paid and other_payments.
        delete from %1$I.booking_events e
        where e.type = 'payment.captured'
          and exists (select 1 from %1$I.bookings b where b.booking_id = e.booking_id);
      $sql$, schema_name);
    end if;
  end loop;
end
$$;

-- views/analytics.bookings.sql
create or replace view analytics.bookings as
select
  booking_id,
  customer_id,
  destination,
  booking_type,
  channel,
  case
    when cancelled_at is not null then 'cancelled'
    when modifications > 0 then 'modified'
    else 'confirmed'
  end as status,
  created_at,
  created_total,
  created_currency,
  current_total,
  current_currency as currency,
  modifications,
  cancelled_at,
  refunded as amount_refunded,
  coalesce(amount_paid, 0) as amount_paid,
  other_payments,
  last_event_at,
  -- The legacy bookings table's name for the current total, so that legacy
  -- report SQL runs unchanged (created_at and status already match).
  current_total as total_amount
from pulse_bookings.bookings;

comment on view analytics.bookings is 'Current state of each booking whose booking.created has arrived, after all its events in event-time order.';
comment on column analytics.bookings.booking_id is 'Booking id as sent.';
comment on column analytics.bookings.customer_id is 'Customer who booked.';
comment on column analytics.bookings.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings.booking_type is 'Booking type as sent in booking.created.';
comment on column analytics.bookings.channel is 'Sales channel; unknown when it was not sent.';
comment on column analytics.bookings.status is 'confirmed, modified (at least one booking.modified) or cancelled.';
comment on column analytics.bookings.created_at is 'occurred_at of booking.created.';
comment on column analytics.bookings.created_total is 'total_amount at creation.';
comment on column analytics.bookings.created_currency is 'Currency at creation.';
comment on column analytics.bookings.current_total is 'Total after the latest modification (by event time), or at creation.';
comment on column analytics.bookings.currency is 'Currency of current_total and amount_paid.';
comment on column analytics.bookings.modifications is 'Count of booking.modified.';
comment on column analytics.bookings.cancelled_at is 'occurred_at of the first booking.cancelled; NULL when not cancelled.';
comment on column analytics.bookings.amount_refunded is 'Refund of that cancellation: refund_amount, or the total in force then; 0 when not cancelled.';
comment on column analytics.bookings.amount_paid is 'Sum of payment.captured in the booking''s currency.';
comment on column analytics.bookings.other_payments is 'Payments captured in other currencies, as {"EUR": 12.50}; NULL when none.';
comment on column analytics.bookings.last_event_at is 'Latest occurred_at among the booking''s events.';
comment on column analytics.bookings.total_amount is 'current_total under its legacy name (the legacy bookings table''s total_amount): the total in force now.';

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
