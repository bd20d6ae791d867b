-- pulse verify for the bookings projection: each query returns the rows where
-- its rollups differ from a recompute from the raw events up to the checkpoint
-- %(projection)s, as (key, projected, recomputed); none when the invariant
-- holds. They run in one read-only snapshot with search_path set to the
-- projection's schema. After pulse retention, only what the retained events
-- can recompute is compared.

-- name: verify_bookings
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = %(projection)s
),

cutoff as (
  select coalesce(max(dropped_before), '-infinity') as dropped_before from pulse.retention_runs
),

recomputed as (
  select r.*
  from checkpoint c, cutoff, pulse.recompute_bookings_hourly(c.xact_id, c.seq, cutoff.dropped_before) r
),

left_out as (
  -- Bookings created before the retention cutoff: their events are partly gone.
  select date_bin('1 hour', c.quarter, timestamptz '2000-01-01 00:00:00+00') as bucket,
         b.destination, b.booking_type, b.channel, c.currency,
         sum(c.modifications) as modifications, sum(c.modification_delta) as modification_delta,
         sum(c.cancellations) as cancellations, sum(c.refunds) as refunds
  from booking_contributions c
  join bookings b using (booking_id)
  where b.created_at < (select dropped_before from cutoff)
  group by 1, 2, 3, 4, 5
),

projected as (
  select h.bucket, h.destination, h.booking_type, h.channel, h.currency,
         h.bookings, h.gross_revenue,
         h.modifications - coalesce(l.modifications, 0) as modifications,
         h.modification_delta - coalesce(l.modification_delta, 0) as modification_delta,
         h.cancellations - coalesce(l.cancellations, 0) as cancellations,
         h.refunds - coalesce(l.refunds, 0) as refunds
  from hourly h
  left join left_out l using (bucket, destination, booking_type, channel, currency)
)

select concat_ws(' ', bucket, destination, booking_type, channel, currency) as key,
       row(p.bookings, p.gross_revenue, p.modifications, p.modification_delta, p.cancellations, p.refunds)::text
         as projected,
       row(r.bookings, r.gross_revenue, r.modifications, r.modification_delta, r.cancellations, r.refunds)::text
         as recomputed
from projected p
full join recomputed r using (bucket, destination, booking_type, channel, currency)
where bucket >= (select dropped_before from cutoff)
  and (coalesce(p.bookings, 0), coalesce(p.gross_revenue, 0), coalesce(p.modifications, 0),
       coalesce(p.modification_delta, 0), coalesce(p.cancellations, 0), coalesce(p.refunds, 0))
      is distinct from
      (coalesce(r.bookings, 0), coalesce(r.gross_revenue, 0), coalesce(r.modifications, 0),
       coalesce(r.modification_delta, 0), coalesce(r.cancellations, 0), coalesce(r.refunds, 0))
order by 1;

-- name: verify_bookings_daily
-- The daily rollup is the bookings and their contributions regrouped by the
-- local date of each event in the business time zone.
with settings as (
  select timezone from analytics.settings
),

pieces as (
  select (b.created_at at time zone s.timezone)::date as day, b.destination, b.booking_type, b.channel,
         b.created_currency as currency, 1 as bookings, b.created_total as gross_revenue,
         0 as modifications, 0 as modification_delta, 0 as cancellations, 0 as refunds
  from bookings b, settings s
  union all
  select (c.quarter at time zone s.timezone)::date, b.destination, b.booking_type, b.channel, c.currency,
         0, 0, c.modifications, c.modification_delta, c.cancellations, c.refunds
  from booking_contributions c
  join bookings b using (booking_id)
  cross join settings s
),

regrouped as (
  select day, destination, booking_type, channel, currency,
         sum(bookings) as bookings, sum(gross_revenue) as gross_revenue,
         sum(modifications) as modifications, sum(modification_delta) as modification_delta,
         sum(cancellations) as cancellations, sum(refunds) as refunds
  from pieces
  group by 1, 2, 3, 4, 5
)

select concat_ws(' ', day, destination, booking_type, channel, currency) as key,
       row(d.bookings, d.gross_revenue, d.modifications, d.modification_delta, d.cancellations, d.refunds)::text
         as projected,
       row(r.bookings, r.gross_revenue, r.modifications, r.modification_delta, r.cancellations, r.refunds)::text
         as recomputed
from daily d
full join regrouped r using (day, destination, booking_type, channel, currency)
where (coalesce(d.bookings, 0), coalesce(d.gross_revenue, 0), coalesce(d.modifications, 0),
       coalesce(d.modification_delta, 0), coalesce(d.cancellations, 0), coalesce(d.refunds, 0))
      is distinct from
      (coalesce(r.bookings, 0), coalesce(r.gross_revenue, 0), coalesce(r.modifications, 0),
       coalesce(r.modification_delta, 0), coalesce(r.cancellations, 0), coalesce(r.refunds, 0))
order by 1;

-- name: verify_destinations_daily
-- The rollup per day, destination and currency is the daily one without booking type and channel.
with regrouped as (
  select day, destination, currency,
         sum(bookings) as bookings, sum(gross_revenue) as gross_revenue,
         sum(modifications) as modifications, sum(modification_delta) as modification_delta,
         sum(cancellations) as cancellations, sum(refunds) as refunds
  from daily
  group by 1, 2, 3
)

select concat_ws(' ', day, destination, currency) as key,
       row(d.bookings, d.gross_revenue, d.modifications, d.modification_delta, d.cancellations, d.refunds)::text
         as projected,
       row(r.bookings, r.gross_revenue, r.modifications, r.modification_delta, r.cancellations, r.refunds)::text
         as recomputed
from destinations_daily d
full join regrouped r using (day, destination, currency)
where (coalesce(d.bookings, 0), coalesce(d.gross_revenue, 0), coalesce(d.modifications, 0),
       coalesce(d.modification_delta, 0), coalesce(d.cancellations, 0), coalesce(d.refunds, 0))
      is distinct from
      (coalesce(r.bookings, 0), coalesce(r.gross_revenue, 0), coalesce(r.modifications, 0),
       coalesce(r.modification_delta, 0), coalesce(r.cancellations, 0), coalesce(r.refunds, 0))
order by 1;
