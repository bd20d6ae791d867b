-- Revision 0012 undone.
-- analytics.customer_lifetime as revision 0011 left it: without the predicted columns (CREATE OR REPLACE cannot drop a column).
drop view analytics.customer_lifetime;
create or replace view analytics.customer_lifetime as
with rules as (
  select * from analytics.customer_segment_rules
),

amounts as (
  -- What each booking is worth over its life: its total at creation, then
  -- each modification's change and minus its refund, each at its own time.
  select b.customer_id, b.created_currency as currency,
         date_bin('1 hour', b.created_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         b.created_total as amount
  from pulse_bookings.bookings b
  union all
  select b.customer_id, c.currency, date_bin('1 hour', c.quarter, timestamptz '2000-01-01 00:00:00+00'),
         c.modification_delta - c.refunds
  from pulse_bookings.booking_contributions c
  join pulse_bookings.bookings b using (booking_id)
),

net_value as (
  select a.customer_id,
         case when bool_and(fx.rate is not null) then sum(a.amount * fx.rate) end as net_value,
         array_agg(distinct a.currency::text) filter (where fx.rate is null) as missing_rates
  from amounts a
  left join lateral analytics.fx_rate(a.currency, a.bucket) fx on true
  group by a.customer_id
),

booked as (
  select customer_id,
         count(*) as bookings,
         min(created_at) as first_booking_at,
         max(created_at) as last_booking_at,
         (array_agg(cancelled_at order by created_at desc, booking_id desc))[1] as last_booking_cancelled_at
  from pulse_bookings.bookings
  group by customer_id
),

customers as (
  select c.customer_id, c.registered_at, c.last_seen_at, c.last_search_at, c.last_checkout_at,
         coalesce(b.bookings, 0) as bookings, b.first_booking_at, b.last_booking_at, b.last_booking_cancelled_at,
         v.net_value, v.missing_rates,
         b.last_booking_at >= now() - make_interval(days => r.recent_days) as recent,
         coalesce(b.bookings, 0) >= r.frequent_bookings as frequent,
         v.net_value >= r.high_value as high_value,
         greatest(c.last_seen_at, b.last_booking_cancelled_at) < now() - make_interval(days => r.lapsed_days) as lapsed,
         greatest(b.last_booking_at, b.last_booking_cancelled_at) as last_booking_activity_at
  from pulse_customers.customers c
  left join booked b using (customer_id)
  left join net_value v using (customer_id)
  cross join rules r
)

select
  customer_id,
  bookings as lifetime_bookings,
  net_value as lifetime_net_value,
  (select reporting_currency from analytics.settings) as reporting_currency,
  missing_rates,
  first_booking_at,
  last_booking_at,
  round(net_value / nullif(bookings, 0), 2) as avg_booking_value,
  case
    when bookings = 0 then 'prospect'
    when lapsed then 'lapsed'
    when recent and frequent and high_value then 'champion'
    when recent and frequent then 'loyal'
    when frequent then 'at_risk'
    when recent and bookings = 1 then 'new'
    when high_value then 'big_spender'
    else 'occasional'
  end as segment,
  case
    when bookings > 0 and lapsed then 'lapsed'
    when last_checkout_at >= coalesce(last_search_at, '-infinity')
         and last_checkout_at > coalesce(last_booking_activity_at, '-infinity') then 'in checkout'
    when last_search_at > coalesce(last_booking_activity_at, '-infinity') then 'searched'
    when last_booking_cancelled_at is not null then 'cancelled'
    when bookings > 0 then 'booked'
    else 'registered'
  end as journey_stage,
  registered_at,
  last_seen_at
from customers;

comment on view analytics.customer_lifetime is 'Per customer: lifetime bookings and net value in the reporting currency, RFM segment (thresholds in analytics.customer_segment_rules) and journey stage. See docs/analytics.md.';
comment on column analytics.customer_lifetime.customer_id is 'Customer id as sent.';
comment on column analytics.customer_lifetime.lifetime_bookings is 'Bookings created.';
comment on column analytics.customer_lifetime.lifetime_net_value is 'Sum over their bookings of the total at creation plus modifications minus refunds, each converted at the rate in force at its time; NULL when a currency has no rate.';
comment on column analytics.customer_lifetime.reporting_currency is 'Currency of the amounts.';
comment on column analytics.customer_lifetime.missing_rates is 'Currencies of this customer''s amounts with no exchange rate; NULL when all converted.';
comment on column analytics.customer_lifetime.first_booking_at is 'Creation time of the first booking.';
comment on column analytics.customer_lifetime.last_booking_at is 'Creation time of the latest booking.';
comment on column analytics.customer_lifetime.avg_booking_value is 'lifetime_net_value / lifetime_bookings, 2 places.';
comment on column analytics.customer_lifetime.segment is 'First that applies: prospect (no booking), lapsed, champion (recent, frequent, high value), loyal (recent, frequent), at_risk (frequent, not recent), new (one recent booking), big_spender (high value), occasional.';
comment on column analytics.customer_lifetime.journey_stage is 'Latest step: lapsed (booked, then no activity for lapsed_days), in checkout, searched (after any booking), cancelled (latest booking cancelled), booked, or registered.';
comment on column analytics.customer_lifetime.registered_at is 'occurred_at of customer.registered; NULL when none arrived.';
comment on column analytics.customer_lifetime.last_seen_at is 'Latest occurred_at among the customer''s registrations, searches, checkouts and bookings.';
drop view analytics.demand_outlook;
drop table analytics.customer_prediction;
drop table analytics.demand_forecast;
drop table analytics.forecast_series;
drop table analytics.forecast_runs;

-- roles.sql: the view, made again, gets its owner and readers back
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
