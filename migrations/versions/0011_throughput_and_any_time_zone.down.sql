-- Revision 0011 undone: what it changed, as revision 0010 left it.
drop view analytics.destinations_daily, analytics.kpis_today, analytics.top_destinations,
  analytics.revenue_by_booking_type, analytics.customer_lifetime, pulse.bookings_hourly_reported;
drop function pulse.next_batch_end(xid8, bigint, xid8, integer);
drop table pulse_bookings.destinations_daily;
alter table pulse_bookings.booking_contributions rename column quarter to bucket;
-- One day per hour again: the day it starts in (revisions before 0011 refused the zones where that loses anything).
delete from pulse.calendar c
where c.day <> (c.bucket at time zone (select s.timezone from analytics.settings s))::date;
alter table pulse.calendar drop constraint calendar_pkey, drop column share, add primary key (bucket);
comment on column analytics.settings.timezone is 'IANA time zone name. Its UTC offsets must be whole hours, so each UTC hour lies in one business day.';
comment on table pulse.calendar is 'UTC hours from 2000 to 2040 and their day in analytics.settings.timezone; rebuilt when the time zone changes.';
-- Runs as its owner, the projector (sql/roles.sql): whoever stores the settings needs no
-- rights on the calendar or the rollups, and nothing runs with more rights than the
-- projector, which owns those rollups.
create or replace function pulse.apply_settings() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
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
          '       sum(h.cancellations), sum(h.refunds), public.hll_union_agg(h.customers), public.tdigest(h.booking_values) '
          'from %1$I.hourly h join pulse.calendar c using (bucket) '
          'group by 1, 2, 3, 4, 5', bookings_schema);
      end if;
    end loop;
  end if;
  return new;
end
$$;
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
-- Only pg_catalog is searched (and pg_temp last): objects others can create never stand in for built-ins.
set search_path = pg_catalog, pg_temp
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
set search_path = pg_catalog, pg_temp
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
