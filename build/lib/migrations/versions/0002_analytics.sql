-- Revision 0002, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- The hourly rollup of 0001 is replaced by the bookings projection; projections
-- start from the beginning of the log, so every stored event is counted again.
drop view analytics.bookings_hourly;
drop table pulse.bookings_hourly_rollup;
delete from pulse.projection_checkpoints where projection = 'bookings_hourly';

-- schemas/sketches.sql
-- Mergeable sketches for the rollups: hll for distinct customers, tdigest for
-- booking-value percentiles. Both merge exactly when hours roll into days.
create extension if not exists hll with schema public;
create extension if not exists tdigest with schema public;

-- tables/booking_ids.sql
-- Which event created each booking. Ingest claims the booking_id of every
-- booking.created here, so a second booking.created for the same booking is
-- rejected and quarantined instead of being counted twice.
create table pulse.booking_ids (
  booking_id text primary key,
  event_id   uuid not null
);
comment on table pulse.booking_ids is 'booking_id of every accepted booking.created, and the event that created it. Projections count a booking.created only if it is the one recorded here: a writer other than the API must claim the booking_id here in the same transaction.';

insert into pulse.booking_ids (booking_id, event_id)
select distinct on (data->>'booking_id') data->>'booking_id', event_id
from pulse.events
where type = 'booking.created'
order by data->>'booking_id', xact_id, seq;

-- tables/projection_checkpoints_versions.sql
-- Projections carry a version: a checkpoint written by another version is rebuilt.
alter table pulse.projection_checkpoints
  add column version integer not null default 0,
  -- Bumped when a replay swaps in rebuilt tables: live streams start over from a snapshot.
  add column generation integer not null default 0,
  -- The event a failing projection is stuck at, once it has narrowed the failure down to one.
  add column last_error_event_id uuid;

-- tables/settings.sql
-- One row: the business time zone and the reporting currency. pulse migrate and
-- pulse serve write PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY here, so the
-- views that analysts query see the same settings as the service.
create table analytics.settings (
  only_row           boolean     primary key default true check (only_row),
  timezone           text        not null default 'UTC',
  reporting_currency char(3)     not null default 'USD' check (reporting_currency ~ '^[A-Z]{3}$'),
  updated_at         timestamptz not null default now()
);
comment on table analytics.settings is 'The business time zone (daily buckets, "today") and the reporting currency. Set through PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY.';
comment on column analytics.settings.timezone is 'IANA time zone name. Its UTC offsets must be whole hours, so each UTC hour lies in one business day.';
comment on column analytics.settings.reporting_currency is 'ISO 4217 code the single-currency views report in, converted with analytics.fx_rates.';
comment on column analytics.settings.updated_at is 'When the settings last changed.';

-- Every UTC hour with the business day it belongs to. Daily views join hourly
-- rollups through it, so a filter on day uses indexes.
create table pulse.calendar (
  bucket timestamptz primary key,
  day    date        not null
);
create index calendar_day on pulse.calendar (day);
comment on table pulse.calendar is 'UTC hours from 2000 to 2040 and their day in analytics.settings.timezone; rebuilt when the time zone changes.';

create function pulse.apply_settings() returns trigger
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

create trigger settings_apply before insert or update on analytics.settings
for each row execute function pulse.apply_settings();

insert into analytics.settings default values;

-- tables/fx_rates.sql
create table analytics.fx_rates (
  currency    char(3)     not null check (currency ~ '^[A-Z]{3}$'),
  to_currency char(3)     not null check (to_currency ~ '^[A-Z]{3}$'),
  valid_from  timestamptz not null,
  rate        numeric     not null check (rate > 0),
  loaded_at   timestamptz not null default now(),
  primary key (currency, to_currency, valid_from),
  -- Rates change on the hour, so one rate holds for a whole hourly bucket.
  check (date_bin('1 hour', valid_from, timestamptz '2000-01-01 00:00+00') = valid_from)
);
comment on table analytics.fx_rates is 'Exchange rates: 1 unit of currency is rate units of to_currency from valid_from until the next rate. Load with pulse fx load FILE.csv.';
comment on column analytics.fx_rates.currency is 'ISO 4217 code converted from.';
comment on column analytics.fx_rates.to_currency is 'ISO 4217 code converted to; the views use the rates to analytics.settings.reporting_currency.';
comment on column analytics.fx_rates.valid_from is 'When the rate comes into force; on the hour.';
comment on column analytics.fx_rates.rate is 'Units of to_currency per unit of currency, exact.';
comment on column analytics.fx_rates.loaded_at is 'When this rate was last loaded or corrected.';

-- tables/customer_segment_rules.sql
-- One row of thresholds for analytics.customer_lifetime's segments. Analysts
-- change them with UPDATE; the view uses them at once.
create table analytics.customer_segment_rules (
  only_row          boolean primary key default true check (only_row),
  recent_days       integer not null default 90 check (recent_days > 0),
  lapsed_days       integer not null default 365 check (lapsed_days > 0),
  frequent_bookings integer not null default 3 check (frequent_bookings > 1),
  high_value        numeric not null default 5000 check (high_value > 0)
);
comment on table analytics.customer_segment_rules is 'Thresholds of the RFM segments in analytics.customer_lifetime; see docs/analytics.md.';
comment on column analytics.customer_segment_rules.recent_days is 'R: a customer whose last booking is at most this many days old is recent.';
comment on column analytics.customer_segment_rules.lapsed_days is 'A customer who booked, and whose latest registration, search, checkout, booking or cancellation of the latest booking is this many days old, is lapsed.';
comment on column analytics.customer_segment_rules.frequent_bookings is 'F: a customer with at least this many bookings is frequent.';
comment on column analytics.customer_segment_rules.high_value is 'M: lifetime net value, in the reporting currency, from which a customer is high value.';
insert into analytics.customer_segment_rules default values;

-- tables/retention_runs.sql
create table pulse.retention_runs (
  ran_at         timestamptz not null default now(),
  keep           interval    not null,
  dropped_before timestamptz not null,
  chunks_dropped integer     not null
);
comment on table pulse.retention_runs is 'Each pulse retention run: raw events before dropped_before were dropped; rollups kept everything.';

-- functions/pulse.recompute_bookings_hourly.sql
-- The bookings projection's hourly rollup, recomputed from scratch: from the
-- raw events up to a log position, for bookings created since a time. One
-- plain set-wise query with none of the projection's incremental machinery;
-- pulse verify compares the projection with it, and bench times it.
create or replace function pulse.recompute_bookings_hourly(
  upto_xact_id  xid8,
  upto_seq      bigint,
  created_since timestamptz default '-infinity'
)
returns table (
  bucket             timestamptz,
  destination        text,
  booking_type       text,
  channel            text,
  currency           text,
  bookings           bigint,
  gross_revenue      numeric,
  modifications      bigint,
  modification_delta numeric,
  cancellations      bigint,
  refunds            numeric
)
language sql stable
-- A whole-log recompute: hash joins throughout. CTE row estimates are guesses,
-- and a nested loop over two of them goes quadratic.
set enable_nestloop = off
as $$
with events as (
  select e.data->>'booking_id' as booking_id, e.event_id, e.type, e.occurred_at, e.seq, e.data
  from pulse.events e
  where (e.xact_id, e.seq) <= (upto_xact_id, upto_seq)
    and e.type in ('booking.created', 'booking.modified', 'booking.cancelled')
),

created as (
  -- The creation that holds each booking_id.
  select e.booking_id, e.event_id, e.occurred_at, e.data
  from events e
  join pulse.booking_ids b on b.event_id = e.event_id and b.booking_id = e.booking_id
  where e.type = 'booking.created' and e.occurred_at >= created_since
),

history as (
  select e.booking_id, e.type, e.occurred_at, e.seq,
         (case e.type when 'booking.cancelled' then e.data->>'refund_amount' else e.data->>'total_amount' end)::numeric
           as amount,
         e.data->>'currency' as currency,
         c.data->>'destination' as destination,
         c.data->>'booking_type' as booking_type,
         coalesce(c.data->>'channel', 'unknown') as channel,
         row_number() over (partition by e.booking_id order by e.type <> 'booking.created', e.occurred_at, e.seq)
           as step
  from events e
  join created c using (booking_id)
  where e.type <> 'booking.created' or e.event_id = c.event_id
),

in_force as (
  -- The total and currency in force at each step: those of the latest creation or modification.
  select h.*,
         (array_agg(amount) filter (where type in ('booking.created', 'booking.modified'))
            over (partition by booking_id order by step))[
           count(*) filter (where type in ('booking.created', 'booking.modified'))
             over (partition by booking_id order by step)] as total,
         (array_agg(currency) filter (where type in ('booking.created', 'booking.modified'))
            over (partition by booking_id order by step))[
           count(*) filter (where type in ('booking.created', 'booking.modified'))
             over (partition by booking_id order by step)] as total_currency,
         count(*) filter (where type = 'booking.cancelled')
           over (partition by booking_id order by step) as cancellation_no
  from history h
),

facts as (
  select booking_id, occurred_at, destination, booking_type, channel, currency,
         1 as bookings, amount as gross, 0 as modifications, 0 as delta, 0 as cancellations, 0 as refunds
  from in_force where type = 'booking.created'
  union all
  select booking_id, occurred_at, destination, booking_type, channel, total_currency, 0, 0, 1, total, 0, 0
  from in_force where type = 'booking.modified'
  union all
  -- What the modification replaced: the total in force at the step before it.
  select f.booking_id, f.occurred_at, f.destination, f.booking_type, f.channel, p.total_currency, 0, 0, 0, -p.total, 0, 0
  from in_force f
  join in_force p on p.booking_id = f.booking_id and p.step = f.step - 1
  where f.type = 'booking.modified'
  union all
  select booking_id, occurred_at, destination, booking_type, channel, total_currency,
         0, 0, 0, 0, 1, coalesce(amount, total)
  from in_force where type = 'booking.cancelled' and cancellation_no = 1
),

final as (
  select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         destination, booking_type, channel, currency,
         sum(bookings)::bigint as bookings, sum(gross) as gross_revenue, sum(modifications)::bigint as modifications,
         sum(delta) as modification_delta, sum(cancellations)::bigint as cancellations, sum(refunds) as refunds
  from facts
  group by 1, 2, 3, 4, 5
)

select * from final
$$;

-- projections/bookings/tables.sql, in schema pulse_bookings
create schema pulse_bookings;
set local search_path to pulse_bookings, public;
-- Tables of the bookings projection. Created with search_path set to the
-- projection's schema (pulse_bookings, or pulse_bookings_rebuild during a replay).

-- Every booking.* and payment.captured event, in the fields the projection needs.
-- A booking's history is read from here, in event-time order, whenever one of its
-- events arrives: late and early events land right, and raw-event retention
-- never takes a booking's history away.
create table booking_events (
  booking_id  text        not null,
  occurred_at timestamptz not null,
  seq         bigint      not null,
  type        text        not null,
  amount      numeric,
  currency    char(3),
  primary key (booking_id, occurred_at, seq)
);

-- One row per booking whose booking.created has arrived: its current state.
create table bookings (
  booking_id         text        primary key,
  customer_id        text        not null,
  destination        text        not null,
  booking_type       text        not null,
  channel            text        not null,
  created_at         timestamptz not null,
  created_total      numeric     not null,
  created_currency   char(3)     not null,
  current_total      numeric     not null,
  current_currency   char(3)     not null,
  modifications      integer     not null default 0,
  cancelled_at       timestamptz,
  refunded           numeric     not null default 0,
  refund_currency    char(3),
  amount_paid        numeric     not null default 0,
  other_payments     jsonb,
  last_event_at      timestamptz not null,
  changed_in_batch   bigint      not null
) with (fillfactor = 80);  -- room for HOT updates: bookings change as their events arrive
create index bookings_customer on bookings (customer_id);

-- What each booking's modifications and cancellation add to the hourly rollup,
-- so that a late event can take back and redo its booking's share exactly.
create table booking_contributions (
  booking_id         text        not null,
  bucket             timestamptz not null,
  currency           char(3)     not null,
  modifications      integer     not null,
  modification_delta numeric     not null,
  cancellations      integer     not null,
  refunds            numeric     not null,
  primary key (booking_id, bucket, currency)
);

-- The hourly rollup behind analytics.bookings_hourly and everything built on it.
create table hourly (
  bucket             timestamptz not null,
  destination        text        not null,
  booking_type       text        not null,
  channel            text        not null,
  currency           char(3)     not null,
  bookings           bigint      not null default 0,
  gross_revenue      numeric     not null default 0,
  modifications      bigint      not null default 0,
  modification_delta numeric     not null default 0,
  cancellations      bigint      not null default 0,
  refunds            numeric     not null default 0,
  customers          hll         not null default hll_empty(),
  booking_values     tdigest,
  changed_in_batch   bigint      not null,
  primary key (bucket, destination, booking_type, channel, currency)
);
create index hourly_changed on hourly (changed_in_batch);

-- The same figures per business day (pulse.calendar), so that daily questions
-- over years read one row per day, not 24. Rebuilt from hourly when the
-- business time zone changes (pulse.apply_settings).
create table daily (
  day                date        not null,
  destination        text        not null,
  booking_type       text        not null,
  channel            text        not null,
  currency           char(3)     not null,
  bookings           bigint      not null default 0,
  gross_revenue      numeric     not null default 0,
  modifications      bigint      not null default 0,
  modification_delta numeric     not null default 0,
  cancellations      bigint      not null default 0,
  refunds            numeric     not null default 0,
  customers          hll         not null default hll_empty(),
  booking_values     tdigest,
  primary key (day, destination, booking_type, channel, currency)
);
set local search_path to default;

-- projections/conversion/tables.sql, in schema pulse_conversion
create schema pulse_conversion;
set local search_path to pulse_conversion, public;
-- Tables of the conversion projection (schema pulse_conversion, or
-- pulse_conversion_rebuild during a replay).

-- The funnel per UTC hour and destination.
create table hourly (
  bucket           timestamptz not null,
  destination      text        not null,
  searches         bigint      not null,
  checkouts        bigint      not null,
  bookings         bigint      not null,
  changed_in_batch bigint      not null,
  primary key (bucket, destination)
);
set local search_path to default;

-- projections/customers/tables.sql, in schema pulse_customers
create schema pulse_customers;
set local search_path to pulse_customers, public;
-- Tables of the customers projection (schema pulse_customers, or
-- pulse_customers_rebuild during a replay).

-- What each customer did, as counts and first and last times: all of it
-- order-independent, so events may arrive in any order.
create table customers (
  customer_id      text        primary key,
  registered_at    timestamptz,
  first_seen_at    timestamptz not null,
  last_seen_at     timestamptz not null,
  searches         bigint      not null default 0,
  last_search_at   timestamptz,
  checkouts        bigint      not null default 0,
  last_checkout_at timestamptz,
  -- booking.created as the legacy report counted it: every currency summed as is.
  bookings         bigint      not null default 0,
  booked_amount    numeric     not null default 0,
  first_booking_at timestamptz,
  last_booking_at  timestamptz,
  changed_in_batch bigint      not null
);
set local search_path to default;

-- functions/analytics.fx_rate.sql
-- The one rule for converting money: the rate in force at a time, to the
-- reporting currency. No row's rate when none is loaded, never a made-up 1 or 0.
-- A set-returning SQL function, so the planner inlines it into each view.
create or replace function analytics.fx_rate(from_currency char(3), at timestamptz)
returns table (rate numeric)
language sql stable
as $$
  select case
           when from_currency = s.reporting_currency then 1::numeric
           else (select r.rate
                 from analytics.fx_rates r
                 where r.currency = from_currency
                   and r.to_currency = s.reporting_currency
                   and r.valid_from <= at
                 order by r.valid_from desc
                 limit 1)
         end
  from analytics.settings s
$$;
comment on function analytics.fx_rate(char, timestamptz) is 'Rate converting from_currency to the reporting currency at a time; 1 for the reporting currency itself, NULL when no rate is loaded.';

-- views/pulse.bookings_hourly_reported.sql
-- The hourly bookings rollup with its business day and its amounts in the
-- reporting currency; the single-currency views aggregate this. An amount
-- with no rate is NULL here, and rate IS NULL says so.
create or replace view pulse.bookings_hourly_reported as
select
  h.bucket,
  c.day,
  h.destination,
  h.booking_type,
  h.channel,
  h.currency,
  h.bookings,
  h.modifications,
  h.cancellations,
  fx.rate,
  h.gross_revenue * fx.rate as gross_revenue,
  h.refunds * fx.rate as refunds,
  (h.gross_revenue + h.modification_delta - h.refunds) * fx.rate as net_revenue
from pulse_bookings.hourly h
join pulse.calendar c using (bucket)
left join lateral analytics.fx_rate(h.currency, h.bucket) fx on true
-- Rows a late event left at zero: nothing to convert, so no missing rate either.
where h.bookings <> 0 or h.modifications <> 0 or h.modification_delta <> 0 or h.cancellations <> 0 or h.refunds <> 0;

-- views/analytics.bookings_hourly.sql
create or replace view analytics.bookings_hourly as
with rollup as (
  select * from pulse_bookings.hourly
),

final as (
  select
    bucket,
    destination,
    booking_type,
    channel,
    currency,
    bookings,
    gross_revenue,
    modifications,
    modification_delta as modification_revenue,
    cancellations,
    refunds,
    gross_revenue + modification_delta - refunds as net_revenue,
    round(gross_revenue / nullif(bookings, 0), 2) as avg_booking_value,
    round(hll_cardinality(customers))::bigint as unique_customers,
    round(percentiles[1]::numeric, 2) as booking_value_p50,
    round(percentiles[2]::numeric, 2) as booking_value_p95
  from rollup
  -- tdigest_percentile is an aggregate: run it over this row's digest alone.
  left join lateral (
    select tdigest_percentile(d, array[0.5, 0.95]) as percentiles
    from (values (rollup.booking_values)) as one (d)
  ) as p on true
  -- A late event can move a booking's share out of an hour and leave zeros behind.
  where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0
)

select * from final;

comment on view analytics.bookings_hourly is 'Bookings per UTC hour, destination, booking type, channel and currency, in that currency. Live: exact up to the bookings projection checkpoint (GET /v1/status).';
comment on column analytics.bookings_hourly.bucket is 'Start of the UTC hour of the event: of booking.created for bookings, of the modification or cancellation for those.';
comment on column analytics.bookings_hourly.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings_hourly.booking_type is 'Booking type as sent in booking.created (flight, hotel, package, ...).';
comment on column analytics.bookings_hourly.channel is 'Sales channel as sent in booking.created; unknown when it was not sent.';
comment on column analytics.bookings_hourly.currency is 'ISO 4217 code; amounts in this view are in this currency, never converted.';
comment on column analytics.bookings_hourly.bookings is 'Count of booking.created.';
comment on column analytics.bookings_hourly.gross_revenue is 'Sum of total_amount of those bookings at creation, exact.';
comment on column analytics.bookings_hourly.modifications is 'Count of booking.modified in this hour.';
comment on column analytics.bookings_hourly.modification_revenue is 'Sum of the changes of total made by those modifications (new total minus the total before it).';
comment on column analytics.bookings_hourly.cancellations is 'Count of bookings cancelled in this hour (the first booking.cancelled of each booking).';
comment on column analytics.bookings_hourly.refunds is 'Sum of refund_amount of those cancellations; the booking''s total at cancellation when none was sent.';
comment on column analytics.bookings_hourly.net_revenue is 'gross_revenue + modification_revenue - refunds.';
comment on column analytics.bookings_hourly.avg_booking_value is 'gross_revenue / bookings, rounded to 2 places.';
comment on column analytics.bookings_hourly.unique_customers is 'Distinct customer_id of the bookings (hll: exact up to 160 customers, then about 2.3 % standard error).';
comment on column analytics.bookings_hourly.booking_value_p50 is 'Median total_amount at creation (tdigest estimate, 2 places).';
comment on column analytics.bookings_hourly.booking_value_p95 is '95th percentile of total_amount at creation (tdigest estimate, 2 places).';

-- views/analytics.bookings_daily.sql
create or replace view analytics.bookings_daily as
with rollup as (
  select * from pulse_bookings.daily
),

final as (
  select
    day,
    destination,
    booking_type,
    channel,
    currency,
    bookings,
    gross_revenue,
    modifications,
    modification_delta as modification_revenue,
    cancellations,
    refunds,
    gross_revenue + modification_delta - refunds as net_revenue,
    round(gross_revenue / nullif(bookings, 0), 2) as avg_booking_value,
    round(hll_cardinality(customers))::bigint as unique_customers,
    round(percentiles[1]::numeric, 2) as booking_value_p50,
    round(percentiles[2]::numeric, 2) as booking_value_p95
  from rollup
  left join lateral (
    select tdigest_percentile(d, array[0.5, 0.95]) as percentiles
    from (values (rollup.booking_values)) as one (d)
  ) as p on true
  -- A late event can move a booking's share out of a day and leave zeros behind.
  where bookings <> 0 or modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0
)

select * from final;

comment on view analytics.bookings_daily is 'analytics.bookings_hourly rolled into days of the business time zone (analytics.settings.timezone), kept as its own rollup. Distinct customers and percentiles are merged sketches, not sums.';
comment on column analytics.bookings_daily.day is 'Day in the business time zone; 23 or 25 hours long across DST changes.';
comment on column analytics.bookings_daily.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings_daily.booking_type is 'Booking type as sent in booking.created.';
comment on column analytics.bookings_daily.channel is 'Sales channel as sent in booking.created; unknown when it was not sent.';
comment on column analytics.bookings_daily.currency is 'ISO 4217 code; amounts in this view are in this currency, never converted.';
comment on column analytics.bookings_daily.bookings is 'Count of booking.created.';
comment on column analytics.bookings_daily.gross_revenue is 'Sum of total_amount of those bookings at creation, exact.';
comment on column analytics.bookings_daily.modifications is 'Count of booking.modified.';
comment on column analytics.bookings_daily.modification_revenue is 'Sum of the changes of total made by those modifications.';
comment on column analytics.bookings_daily.cancellations is 'Count of bookings cancelled this day.';
comment on column analytics.bookings_daily.refunds is 'Sum of the refunds of those cancellations.';
comment on column analytics.bookings_daily.net_revenue is 'gross_revenue + modification_revenue - refunds.';
comment on column analytics.bookings_daily.avg_booking_value is 'gross_revenue / bookings, rounded to 2 places.';
comment on column analytics.bookings_daily.unique_customers is 'Distinct customer_id over the day (merged hll: exact up to 160 customers, then about 2.3 % standard error).';
comment on column analytics.bookings_daily.booking_value_p50 is 'Median total_amount at creation over the day (merged tdigest estimate).';
comment on column analytics.bookings_daily.booking_value_p95 is '95th percentile of total_amount at creation over the day (merged tdigest estimate).';

-- views/analytics.kpis_today.sql
create or replace view analytics.kpis_today as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

bookings as (
  select
    coalesce(sum(r.bookings), 0)::bigint as bookings,
    coalesce(sum(r.cancellations), 0)::bigint as cancellations,
    -- A sum that would leave out an amount with no exchange rate is NULL instead.
    case when bool_and(r.rate is not null) is not false then coalesce(sum(r.gross_revenue), 0) end as gross_revenue,
    case when bool_and(r.rate is not null) is not false then coalesce(sum(r.net_revenue), 0) end as net_revenue,
    case when bool_and(r.rate is not null) is not false then coalesce(sum(r.refunds), 0) end as refunds,
    array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
  from pulse.bookings_hourly_reported r
  join today using (day)
),

funnel as (
  select
    coalesce(sum(f.searches), 0)::bigint as searches,
    coalesce(sum(f.checkouts), 0)::bigint as checkouts,
    coalesce(sum(f.bookings), 0)::bigint as bookings
  from pulse_conversion.hourly f
  join pulse.calendar c using (bucket)
  join today using (day)
)

select
  today.day,
  today.reporting_currency,
  b.bookings,
  b.gross_revenue as revenue,
  b.net_revenue,
  round(b.gross_revenue / nullif(b.bookings, 0), 2) as avg_booking_value,
  f.searches,
  round(f.bookings::numeric / nullif(f.searches, 0), 4) as conversion_rate,
  b.cancellations,
  b.refunds,
  b.missing_rates
from today, bookings b, funnel f;

comment on view analytics.kpis_today is 'Today so far, in the business time zone and the reporting currency: one row.';
comment on column analytics.kpis_today.day is 'Today in the business time zone.';
comment on column analytics.kpis_today.reporting_currency is 'Currency of every amount in this row.';
comment on column analytics.kpis_today.bookings is 'Bookings created today.';
comment on column analytics.kpis_today.revenue is 'Gross revenue of those bookings, converted at the rate in force at each booking; NULL when a currency has no rate (see missing_rates).';
comment on column analytics.kpis_today.net_revenue is 'Gross revenue plus today''s modifications minus today''s refunds, converted; NULL when a currency has no rate.';
comment on column analytics.kpis_today.avg_booking_value is 'revenue / bookings, rounded to 2 places.';
comment on column analytics.kpis_today.searches is 'search.performed events today.';
comment on column analytics.kpis_today.conversion_rate is 'Bookings per search today (the conversion projection''s counts), 4 places; NULL before the first search.';
comment on column analytics.kpis_today.cancellations is 'Bookings cancelled today.';
comment on column analytics.kpis_today.refunds is 'Refunds of today''s cancellations, converted; NULL when a currency has no rate.';
comment on column analytics.kpis_today.missing_rates is 'Currencies with amounts today but no exchange rate to the reporting currency; NULL when every amount converted.';

-- views/analytics.top_destinations.sql
create or replace view analytics.top_destinations as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

periods as (
  select 'today' as period, day as first_day, day as last_day, reporting_currency from today
  union all
  select 'last_7_days', day - 6, day, reporting_currency from today
),

totals as (
  select
    p.period,
    p.reporting_currency,
    r.destination,
    sum(r.bookings)::bigint as bookings,
    case when bool_and(r.rate is not null) then sum(r.gross_revenue) end as gross_revenue,
    case when bool_and(r.rate is not null) then sum(r.net_revenue) end as net_revenue,
    array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
  from periods p
  join pulse.bookings_hourly_reported r on r.day between p.first_day and p.last_day
  group by p.period, p.reporting_currency, r.destination
)

select
  period,
  rank() over (partition by period order by net_revenue desc nulls last, bookings desc) as rank,
  destination,
  bookings,
  gross_revenue,
  net_revenue,
  reporting_currency,
  missing_rates
from totals;

comment on view analytics.top_destinations is 'Destinations ranked by net revenue in the reporting currency, today and over the last 7 days (today and the 6 days before, business time zone). Filter on rank for a top N.';
comment on column analytics.top_destinations.period is 'today or last_7_days.';
comment on column analytics.top_destinations.rank is 'Rank within the period by net_revenue, then bookings; destinations whose revenue cannot be converted come last.';
comment on column analytics.top_destinations.destination is 'Destination as sent in booking.created.';
comment on column analytics.top_destinations.bookings is 'Bookings created in the period.';
comment on column analytics.top_destinations.gross_revenue is 'Gross revenue of those bookings, converted; NULL when a currency has no rate.';
comment on column analytics.top_destinations.net_revenue is 'Gross revenue plus modifications minus refunds in the period, converted; NULL when a currency has no rate.';
comment on column analytics.top_destinations.reporting_currency is 'Currency of the amounts.';
comment on column analytics.top_destinations.missing_rates is 'Currencies with no exchange rate to the reporting currency; NULL when every amount converted.';

-- views/analytics.revenue_by_booking_type.sql
create or replace view analytics.revenue_by_booking_type as
with today as (
  select (now() at time zone timezone)::date as day, reporting_currency
  from analytics.settings
),

periods as (
  select 'today' as period, day as first_day, day as last_day, reporting_currency from today
  union all
  select 'last_7_days', day - 6, day, reporting_currency from today
)

select
  p.period,
  r.booking_type,
  sum(r.bookings)::bigint as bookings,
  case when bool_and(r.rate is not null) then sum(r.gross_revenue) end as gross_revenue,
  case when bool_and(r.rate is not null) then sum(r.net_revenue) end as net_revenue,
  p.reporting_currency,
  array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
from periods p
join pulse.bookings_hourly_reported r on r.day between p.first_day and p.last_day
group by p.period, r.booking_type, p.reporting_currency;

comment on view analytics.revenue_by_booking_type is 'Revenue per booking type in the reporting currency, today and over the last 7 days (business time zone).';
comment on column analytics.revenue_by_booking_type.period is 'today or last_7_days.';
comment on column analytics.revenue_by_booking_type.booking_type is 'Booking type as sent in booking.created.';
comment on column analytics.revenue_by_booking_type.bookings is 'Bookings created in the period.';
comment on column analytics.revenue_by_booking_type.gross_revenue is 'Gross revenue, converted; NULL when a currency has no rate.';
comment on column analytics.revenue_by_booking_type.net_revenue is 'Gross revenue plus modifications minus refunds, converted; NULL when a currency has no rate.';
comment on column analytics.revenue_by_booking_type.reporting_currency is 'Currency of the amounts.';
comment on column analytics.revenue_by_booking_type.missing_rates is 'Currencies with no exchange rate to the reporting currency; NULL when every amount converted.';

-- views/analytics.conversion_hourly.sql
create or replace view analytics.conversion_hourly as
select
  bucket,
  destination,
  searches,
  checkouts,
  bookings,
  round(bookings::numeric / nullif(searches, 0), 4) as search_to_booking_rate,
  round(bookings::numeric / nullif(checkouts, 0), 4) as checkout_to_booking_rate
from pulse_conversion.hourly;

comment on view analytics.conversion_hourly is 'The funnel per UTC hour and destination: events counted in the hour they happened.';
comment on column analytics.conversion_hourly.bucket is 'Start of the UTC hour.';
comment on column analytics.conversion_hourly.destination is 'Destination searched, checked out or booked.';
comment on column analytics.conversion_hourly.searches is 'search.performed events.';
comment on column analytics.conversion_hourly.checkouts is 'checkout.started events.';
comment on column analytics.conversion_hourly.bookings is 'booking.created events.';
comment on column analytics.conversion_hourly.search_to_booking_rate is 'bookings / searches, 4 places; NULL without searches. Can exceed 1: a booking may follow a search in an earlier hour.';
comment on column analytics.conversion_hourly.checkout_to_booking_rate is 'bookings / checkouts, 4 places; NULL without checkouts.';

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
  amount_paid,
  other_payments,
  last_event_at
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

-- views/analytics.held_booking_events.sql
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

comment on view analytics.held_booking_events is 'Modifications, cancellations and payments whose booking.created has not arrived yet. They are applied, in event-time order, when it does.';
comment on column analytics.held_booking_events.booking_id is 'The booking they belong to.';
comment on column analytics.held_booking_events.events is 'How many events are waiting.';
comment on column analytics.held_booking_events.types is 'Their event types.';
comment on column analytics.held_booking_events.first_occurred_at is 'Earliest occurred_at among them.';
comment on column analytics.held_booking_events.last_occurred_at is 'Latest occurred_at among them.';

-- views/analytics.customer_lifetime.sql
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
  select b.customer_id, c.currency, c.bucket, c.modification_delta - c.refunds
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

-- views/analytics.legacy_daily_report.sql
-- The legacy nightly MySQL report, live:
--   SELECT DATE(created_at), COUNT(*), SUM(total_amount), AVG(total_amount)
--   FROM bookings GROUP BY DATE(created_at)
create or replace view analytics.legacy_daily_report as
select
  day as booking_date,
  sum(bookings)::bigint as total_bookings,
  sum(gross_revenue) as revenue,
  round(sum(gross_revenue) / sum(bookings), 6) as avg_booking_value
from pulse_bookings.daily
group by day
having sum(bookings) > 0;

comment on view analytics.legacy_daily_report is 'Parity with the legacy nightly daily report: count, sum and average of created bookings per business day, every currency summed as is, as the legacy query did.';
comment on column analytics.legacy_daily_report.booking_date is 'Day of booking.created in the business time zone.';
comment on column analytics.legacy_daily_report.total_bookings is 'COUNT(*) of bookings created that day.';
comment on column analytics.legacy_daily_report.revenue is 'SUM(total_amount) at creation, all currencies added as the legacy report did.';
comment on column analytics.legacy_daily_report.avg_booking_value is 'AVG(total_amount): revenue / total_bookings to 6 places, as MySQL''s AVG over DECIMAL(…,2) gives.';

-- views/analytics.legacy_customer_analytics.sql
-- The legacy nightly MySQL customer query, live:
--   SELECT customer_id, COUNT(*), SUM(total_amount), MAX(created_at)
--   FROM bookings GROUP BY customer_id
create or replace view analytics.legacy_customer_analytics as
select
  customer_id,
  bookings as lifetime_bookings,
  booked_amount as lifetime_value,
  last_booking_at as last_booking_date
from pulse_customers.customers
where bookings > 0;

comment on view analytics.legacy_customer_analytics is 'Parity with the legacy nightly customer query: per customer, count and sum of created bookings and the last creation time.';
comment on column analytics.legacy_customer_analytics.customer_id is 'Customer id as sent.';
comment on column analytics.legacy_customer_analytics.lifetime_bookings is 'COUNT(*) of bookings created.';
comment on column analytics.legacy_customer_analytics.lifetime_value is 'SUM(total_amount) at creation, all currencies added as the legacy query did.';
comment on column analytics.legacy_customer_analytics.last_booking_date is 'MAX(created_at): occurred_at of the latest booking.created.';

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
