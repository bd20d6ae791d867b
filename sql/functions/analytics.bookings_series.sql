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
    -- Hours, or business days (from their local midnight), starting in [starts_at, ends_at).
    select distinct c.bucket
    from pulse.calendar c
    where granularity = 'hour' and c.bucket >= starts_at and c.bucket < ends_at
    union all
    select d.midnight
    from (
      select distinct c.day, c.day::timestamp at time zone s.timezone as midnight
      from pulse.calendar c, analytics.settings s
      where granularity = 'day'
        and c.day between (starts_at at time zone s.timezone)::date and (ends_at at time zone s.timezone)::date
    ) as d
    where d.midnight >= starts_at and d.midnight < ends_at
  ),

  matching as (
    -- Each row with the bucket it counts in: its hour, or its business day's midnight.
    select r.*, case when granularity = 'hour' then r.bucket else r.day::timestamp at time zone s.timezone end as key
    from pulse.bookings_hourly_reported r, analytics.settings s
    where (bookings_series.destination is null or r.destination = bookings_series.destination)
      and (bookings_series.booking_type is null or r.booking_type = bookings_series.booking_type)
      and (bookings_series.channel is null or r.channel = bookings_series.channel)
      and r.bucket >= starts_at - interval '1 hour' and r.bucket < ends_at + interval '1 day'
  )

  -- A quiet bucket joins no rollup row: its amounts are zero, not unconvertible. An hour sums
  -- its rows whole; a day takes the share of the hour that holds local midnight (pulse.calendar).
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
    on m.key = b.bucket
  group by b.bucket
  order by b.bucket;
end
$$;
comment on function analytics.bookings_series(timestamptz, timestamptz, text, text, text, text) is 'Bookings per hour or business day for every bucket starting in [starts_at, ends_at), zeros included; amounts in the reporting currency. NULL filters match everything.';
