-- What dashboards see: the stream's topics and the JSON snapshots under
-- /v1/metrics/. Each query takes the filters %(destination)s and
-- %(booking_type)s (NULL: all) and works in the business time zone and the
-- reporting currency of analytics.settings. Amounts are converted at the rate
-- in force at each hour; a sum that would leave out an amount with no rate is
-- NULL, and missing_rates names the currencies.

-- name: checkpoints
-- Where the projections the dashboard reads are, in the same snapshot as the figures.
select projection, xact_id::text::bigint as xact_id, seq, batch_no, generation
from pulse.projection_checkpoints
where projection = any(%(projections)s::text[]);

-- name: reporting
-- The business time zone and the reporting currency.
select timezone, trim(reporting_currency) as currency from analytics.settings;

-- name: kpis
-- Today so far against the same part of the day a week earlier. Hourly
-- buckets: the hour now under way counts in full today, and a week ago only in
-- the share of it that has elapsed now (pro rata), so both cover midnight to
-- the same time of day. Where the zone's offset is not a whole number of hours,
-- the hour that holds local midnight counts by its share of minutes in the day
-- (pulse.calendar; pulse.bookings_hourly_reported has it applied).
-- Conversion has no booking type: with that filter it is NULL.
with settings as (
  select timezone, reporting_currency, now() as now from analytics.settings
),

clock as (
  select
    timezone,
    reporting_currency,
    now,
    (now at time zone timezone)::date as day,
    date_bin('1 hour', now, timestamptz '2000-01-01 00:00:00+00') as this_hour,
    extract(epoch from now - date_bin('1 hour', now, timestamptz '2000-01-01 00:00:00+00')) / 3600 as elapsed
  from settings
),

periods as (
  select 'today' as period, day, this_hour, 1::numeric as last_hour_share from clock
  union all
  select 'week_ago', day - 7, this_hour - interval '7 days', elapsed::numeric from clock
),

bookings as (
  select
    p.period,
    sum(r.bookings * w.share) as bookings,
    sum(r.cancellations * w.share) as cancellations,
    case when bool_and(r.rate is not null) is not false then coalesce(sum(r.gross_revenue * w.share), 0) end
      as revenue,
    array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
  from periods p
  join pulse.bookings_hourly_reported r
    on r.day = p.day and r.bucket <= p.this_hour
   -- Today and the same day a week ago lie in the last nine days: a bound the rollup's key can use.
   and r.bucket > now() - interval '9 days'
   and (%(destination)s::text is null or r.destination = %(destination)s::text)
   and (%(booking_type)s::text is null or r.booking_type = %(booking_type)s::text)
  cross join lateral (
    select case when r.bucket = p.this_hour then p.last_hour_share else 1 end as share
  ) as w
  group by p.period
),

funnel as (
  select
    p.period,
    sum(f.searches * c.share * w.share) as searches,
    sum(f.bookings * c.share * w.share) as bookings
  from periods p
  join pulse.calendar c on c.day = p.day and c.bucket <= p.this_hour
  join pulse_conversion.hourly f
    on f.bucket = c.bucket and f.bucket > now() - interval '9 days'
   and (%(destination)s::text is null or f.destination = %(destination)s::text)
  cross join lateral (
    select case when f.bucket = p.this_hour then p.last_hour_share else 1 end as share
  ) as w
  where %(booking_type)s::text is null
  group by p.period
),

figures as (
  select
    p.period,
    round(coalesce(b.bookings, 0), 1) as bookings,
    round(coalesce(b.cancellations, 0), 1) as cancellations,
    round(case when b.period is null then 0 else b.revenue end, 2) as revenue,
    round(case when b.period is null then 0 else b.revenue end / nullif(b.bookings, 0), 2) as avg_booking_value,
    case when %(booking_type)s::text is null
         then round(coalesce(f.bookings, 0) / nullif(f.searches, 0), 4) end as conversion_rate,
    b.missing_rates
  from periods p
  left join bookings b using (period)
  left join funnel f using (period)
)

select
  clock.now as as_of,
  clock.day,
  clock.timezone,
  clock.reporting_currency as currency,
  t.bookings, w.bookings as bookings_week_ago,
  t.revenue, w.revenue as revenue_week_ago,
  t.avg_booking_value, w.avg_booking_value as avg_booking_value_week_ago,
  t.conversion_rate, w.conversion_rate as conversion_rate_week_ago,
  t.cancellations, w.cancellations as cancellations_week_ago,
  array(select distinct unnest(coalesce(t.missing_rates, '{}') || coalesce(w.missing_rates, '{}')) order by 1)
    as missing_rates
from clock
join figures t on t.period = 'today'
join figures w on w.period = 'week_ago';

-- name: hourly
-- Bookings and revenue per UTC hour from %(from)s to %(to)s (at most 31 days),
-- every hour present: a quiet hour is a zero.
with settings as (
  select reporting_currency from analytics.settings
),

hours as (
  select generate_series(
           date_bin('1 hour', %(from)s::timestamptz, timestamptz '2000-01-01 00:00:00+00'),
           %(to)s::timestamptz - interval '1 microsecond',
           interval '1 hour') as hour
),

matching as (
  select r.*
  from pulse.bookings_hourly_reported r
  where r.bucket >= (select min(hour) from hours) and r.bucket <= (select max(hour) from hours)
    and (%(destination)s::text is null or r.destination = %(destination)s::text)
    and (%(booking_type)s::text is null or r.booking_type = %(booking_type)s::text)
)

select
  h.hour,
  coalesce(sum(m.bookings), 0)::bigint as bookings,
  case when bool_and(m.currency is null or m.rate is not null)
       then round(coalesce(sum(m.gross_revenue), 0), 2) end as revenue,
  array_agg(distinct m.currency::text) filter (where m.currency is not null and m.rate is null) as missing_rates
from hours h
left join matching m on m.bucket = h.hour
group by h.hour
order by h.hour;

-- name: hourly_changed
-- Hours from %(from)s whose bookings rows changed in batches after %(after_batch)s.
select distinct h.bucket
from pulse_bookings.hourly h
where h.changed_in_batch > %(after_batch)s
  and h.bucket >= %(from)s::timestamptz
  and (%(destination)s::text is null or h.destination = %(destination)s::text)
  and (%(booking_type)s::text is null or h.booking_type = %(booking_type)s::text)
order by 1;

-- name: batch_at
-- The last batch of a projection whose end is at or before a log position;
-- NULL when no batch that old is remembered.
select max(batch_no) as batch_no
from pulse.projection_batches
where projection = %(projection)s
  and (end_xact_id, end_seq) <= (%(xact_id)s::text::xid8, %(seq)s);

-- name: top_destinations
-- Today's destinations by revenue, then bookings: the first ten.
with today as (
  select (now() at time zone timezone)::date as day from analytics.settings
)

select
  r.destination,
  sum(r.bookings)::bigint as bookings,
  case when bool_and(r.rate is not null) then round(sum(r.gross_revenue), 2) end as revenue,
  array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
from pulse.bookings_hourly_reported r
join today using (day)
-- Today's hours lie within two days of now: the bound lets the rollup's key find them.
where r.bucket > now() - interval '2 days' and r.bucket < now() + interval '2 days'
  and (%(destination)s::text is null or r.destination = %(destination)s::text)
  and (%(booking_type)s::text is null or r.booking_type = %(booking_type)s::text)
group by r.destination
having sum(r.bookings) > 0
order by revenue desc nulls last, bookings desc, r.destination
limit 10;

-- name: booking_types
-- Today's bookings and revenue per booking type.
with today as (
  select (now() at time zone timezone)::date as day from analytics.settings
)

select
  r.booking_type,
  sum(r.bookings)::bigint as bookings,
  case when bool_and(r.rate is not null) then round(sum(r.gross_revenue), 2) end as revenue,
  array_agg(distinct r.currency::text) filter (where r.rate is null) as missing_rates
from pulse.bookings_hourly_reported r
join today using (day)
-- Today's hours lie within two days of now: the bound lets the rollup's key find them.
where r.bucket > now() - interval '2 days' and r.bucket < now() + interval '2 days'
  and (%(destination)s::text is null or r.destination = %(destination)s::text)
  and (%(booking_type)s::text is null or r.booking_type = %(booking_type)s::text)
group by r.booking_type
having sum(r.bookings) > 0
order by bookings desc, r.booking_type;

-- name: funnel
-- Today's searches, checkouts and bookings. Per destination only: the funnel
-- has no booking type. The hour that holds local midnight counts by its share
-- of minutes today (zones whose offset is not a whole number of hours).
with today as (
  select (now() at time zone timezone)::date as day from analytics.settings
)

select
  round(coalesce(sum(f.searches * c.share), 0))::bigint as searches,
  round(coalesce(sum(f.checkouts * c.share), 0))::bigint as checkouts,
  round(coalesce(sum(f.bookings * c.share), 0))::bigint as bookings
from pulse_conversion.hourly f
join pulse.calendar c using (bucket)
join today using (day)
-- Today's hours lie within two days of now: the bound lets the rollup's key find them.
where f.bucket > now() - interval '2 days' and f.bucket < now() + interval '2 days'
  and (%(destination)s::text is null or f.destination = %(destination)s::text);

-- name: dimensions
-- Destinations and booking types booked in the last 90 days, for filter pickers.
with recent as (
  select d.destination, d.booking_type
  from pulse_bookings.daily d, analytics.settings s
  where d.day >= (now() at time zone s.timezone)::date - 90 and d.bookings > 0
)

select
  array(select distinct destination from recent order by 1) as destinations,
  array(select distinct booking_type from recent order by 1) as booking_types;
