-- pulse verify for the conversion projection: each query returns the rows where
-- its rollups differ from a recompute from the raw events up to the checkpoint
-- %(projection)s, as (key, projected, recomputed); none when the invariant
-- holds. They run in one read-only snapshot with search_path set to the
-- projection's schema. After pulse retention, only what the retained events
-- can recompute is compared.

-- name: verify_conversion
with checkpoint as (
  select xact_id, seq from pulse.projection_checkpoints where projection = %(projection)s
),

cutoff as (
  select coalesce(max(dropped_before), '-infinity') as dropped_before from pulse.retention_runs
),

recomputed as (
  select date_bin('1 hour', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         e.data->>'destination' as destination,
         count(*) filter (where e.type = 'search.performed') as searches,
         count(*) filter (where e.type = 'checkout.started') as checkouts,
         count(*) filter (where e.type = 'booking.created') as bookings
  from pulse.events e
  cross join checkpoint c
  left join pulse.booking_ids b on b.event_id = e.event_id
  where (e.xact_id, e.seq) <= (c.xact_id, c.seq)
    and e.type in ('search.performed', 'checkout.started', 'booking.created')
    and (e.type <> 'booking.created' or b.booking_id = e.data->>'booking_id')
  group by 1, 2
)

select concat_ws(' ', bucket, destination) as key,
       row(p.searches, p.checkouts, p.bookings)::text as projected,
       row(r.searches, r.checkouts, r.bookings)::text as recomputed
from hourly p
full join recomputed r using (bucket, destination)
where bucket >= (select dropped_before from cutoff)
  and (p.searches, p.checkouts, p.bookings) is distinct from (r.searches, r.checkouts, r.bookings)
order by 1;
