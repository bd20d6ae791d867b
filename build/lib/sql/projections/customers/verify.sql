-- pulse verify for the customers projection: each query returns the rows where
-- its rollups differ from a recompute from the raw events up to the checkpoint
-- %(projection)s, as (key, projected, recomputed); none when the invariant
-- holds. They run in one read-only snapshot with search_path set to the
-- projection's schema. After pulse retention, only what the retained events
-- can recompute is compared.

-- name: verify_customers
-- Counts only: first and last times may rightly be older than retained events.
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = %(projection)s
),

retention as (
  select count(*) as runs from pulse.retention_runs
),

recomputed as (
  select e.data->>'customer_id' as customer_id,
         count(*) filter (where e.type = 'search.performed') as searches,
         count(*) filter (where e.type = 'checkout.started') as checkouts,
         count(*) filter (where e.type = 'booking.created') as bookings,
         coalesce(sum((e.data->>'total_amount')::numeric) filter (where e.type = 'booking.created'), 0) as booked_amount
  from pulse.events e
  cross join checkpoint c
  left join pulse.booking_ids b on b.event_id = e.event_id
  where (e.xact_id, e.seq) <= (c.xact_id, c.seq)
    and e.type in ('customer.registered', 'search.performed', 'checkout.started', 'booking.created')
    and e.data->>'customer_id' is not null
    and (e.type <> 'booking.created' or b.booking_id = e.data->>'booking_id')
  group by 1
)

select customer_id as key,
       row(p.searches, p.checkouts, p.bookings, p.booked_amount)::text as projected,
       row(r.searches, r.checkouts, r.bookings, r.booked_amount)::text as recomputed
from customers p
full join recomputed r using (customer_id)
where (select runs from retention) = 0
  and (p.searches, p.checkouts, p.bookings, p.booked_amount)
      is distinct from (r.searches, r.checkouts, r.bookings, r.booked_amount)
order by 1;
