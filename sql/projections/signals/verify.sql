-- pulse verify for the signals projection: each query returns the rows where
-- its rollups differ from a recompute from the raw events up to the checkpoint
-- %(projection)s, as (key, projected, recomputed). After pulse retention, only
-- buckets from the cutoff on are compared.

-- name: verify_minutely
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = %(projection)s
),

cutoff as (
  select coalesce(max(dropped_before), '-infinity') as dropped_before from pulse.retention_runs
),

events as (
  select e.* from pulse.events e, checkpoint c where (e.xact_id, e.seq) <= (c.xact_id, c.seq)
),

created as (
  select e.data->>'booking_id' as booking_id, e.data->>'destination' as destination,
         e.data->>'booking_type' as booking_type, e.data->>'currency' as currency,
         (e.data->>'total_amount')::numeric as total, e.xact_id, e.seq
  from events e
  join pulse.booking_ids i on i.event_id = e.event_id
  where e.type = 'booking.created'
),

facts as (
  select date_bin('1 minute', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         coalesce(b.destination, '') as destination,
         coalesce(b.booking_type, '') as booking_type,
         case when e.type = 'booking.cancelled' then coalesce(b.currency, '') else e.data->>'currency' end
           as currency,
         e.type,
         case when e.type = 'booking.created' then b.total end as value,
         case when e.type = 'payment.captured' and b.currency = e.data->>'currency'
              then (e.data->>'amount')::numeric end as paid,
         case when e.type = 'payment.captured' and b.currency = e.data->>'currency' then b.total end as of_total
  from events e
  left join created b on b.booking_id = e.data->>'booking_id' and (b.xact_id, b.seq) <= (e.xact_id, e.seq)
  where e.type in ('booking.cancelled', 'payment.captured', 'payment.failed')
     or (e.type = 'booking.created' and (b.xact_id, b.seq) = (e.xact_id, e.seq))
),

recomputed as (
  select bucket, destination, booking_type, currency,
         count(*) filter (where type = 'booking.created') as bookings,
         coalesce(sum(value), 0) as gross_revenue,
         min(value) as min_value,
         max(value) as max_value,
         count(*) filter (where type = 'booking.cancelled') as cancellations,
         count(*) filter (where type = 'payment.captured') as payments,
         coalesce(sum(paid), 0) as paid_amount,
         coalesce(sum(of_total), 0) as paid_of_total,
         count(*) filter (where type = 'payment.failed') as payment_failures
  from facts
  group by 1, 2, 3, 4
)

select concat_ws(' ', bucket, destination, booking_type, currency) as key,
       row(p.bookings, p.gross_revenue, p.min_value, p.max_value, p.cancellations, p.payments, p.paid_amount,
           p.paid_of_total, p.payment_failures)::text as projected,
       row(r.bookings, r.gross_revenue, r.min_value, r.max_value, r.cancellations, r.payments, r.paid_amount,
           r.paid_of_total, r.payment_failures)::text as recomputed
from minutely p
full join recomputed r using (bucket, destination, booking_type, currency)
where bucket >= (select dropped_before from cutoff)
  and (p.bookings, p.gross_revenue, p.min_value, p.max_value, p.cancellations, p.payments, p.paid_amount,
       p.paid_of_total, p.payment_failures)
      is distinct from (r.bookings, r.gross_revenue, r.min_value, r.max_value, r.cancellations, r.payments,
                        r.paid_amount, r.paid_of_total, r.payment_failures)
order by 1;

-- name: verify_searches
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = %(projection)s
),

cutoff as (
  select coalesce(max(dropped_before), '-infinity') as dropped_before from pulse.retention_runs
),

recomputed as (
  select date_bin('1 minute', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         e.data->>'destination' as destination, count(*) as searches
  from pulse.events e, checkpoint c
  where (e.xact_id, e.seq) <= (c.xact_id, c.seq) and e.type = 'search.performed'
  group by 1, 2
)

select concat_ws(' ', bucket, destination) as key, p.searches::text as projected, r.searches::text as recomputed
from searches p
full join recomputed r using (bucket, destination)
where bucket >= (select dropped_before from cutoff)
  and p.searches is distinct from r.searches
order by 1;

-- name: verify_held
-- Events still waiting for their booking: those with no creation anywhere up to the checkpoint.
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = %(projection)s
),

created as (
  select i.booking_id
  from pulse.events x, checkpoint c, pulse.booking_ids i
  where (x.xact_id, x.seq) <= (c.xact_id, c.seq) and x.type = 'booking.created' and i.event_id = x.event_id
),

recomputed as (
  select e.data->>'booking_id' as booking_id, e.seq
  from pulse.events e, checkpoint c
  where (e.xact_id, e.seq) <= (c.xact_id, c.seq)
    and e.type in ('booking.modified', 'booking.cancelled', 'payment.captured', 'payment.failed')
    and e.data->>'booking_id' is not null
    -- not exists, not "not in": an anti join; "not in" rescans the list per event once it outgrows work_mem.
    and not exists (select from created x where x.booking_id = e.data->>'booking_id')
)

select concat_ws(' ', booking_id, seq) as key, (p.seq is not null)::text as projected,
       (r.seq is not null)::text as recomputed
from held p
full join recomputed r using (booking_id, seq)
where p.seq is null or r.seq is null
order by 1;
