-- The customers projection's statements; see projections/bookings/batch.sql
-- for the parameters every statement receives.

-- name: hash_to_aggregate
-- A backlog's batch of 200,000 events folds into about 40,000 customers. Sorted
-- first (the planner's choice: it expects a few hundred rows), the sort spilled
-- to disk. Hashed in 32 MB, the customers catch-up of make bench's database
-- (1.5·10^6 events) took 4.65-4.95 s instead of 5.04-5.26.
set local enable_sort = off;

-- name: room_to_hash
set local work_mem = '32MB';

-- name: fold_customers
-- Folds the batch's events that name a customer into that customer's row.
insert into customers as c (customer_id, registered_at, first_seen_at, last_seen_at,
                            searches, last_search_at, checkouts, last_checkout_at,
                            bookings, booked_amount, first_booking_at, last_booking_at, changed_in_batch)
select e.data->>'customer_id',
       min(e.occurred_at) filter (where e.type = 'customer.registered'),
       min(e.occurred_at),
       max(e.occurred_at),
       count(*) filter (where e.type = 'search.performed'),
       max(e.occurred_at) filter (where e.type = 'search.performed'),
       count(*) filter (where e.type = 'checkout.started'),
       max(e.occurred_at) filter (where e.type = 'checkout.started'),
       count(*) filter (where e.type = 'booking.created'),
       coalesce(sum((e.data->>'total_amount')::numeric) filter (where e.type = 'booking.created'), 0),
       min(e.occurred_at) filter (where e.type = 'booking.created'),
       max(e.occurred_at) filter (where e.type = 'booking.created'),
       %(batch_no)s
from pulse.events e
where (e.xact_id, e.seq) > (%(start_xact_id)s::text::xid8, %(start_seq)s)
  and (e.xact_id, e.seq) <= (%(end_xact_id)s::text::xid8, %(end_seq)s)
  and e.type = any(%(event_types)s::text[])
  and e.data->>'customer_id' is not null
  -- Only the creation that holds its booking_id counts: marked by the write contract, else
  -- looked up in pulse.booking_ids.
  and (e.type <> 'booking.created'
       or coalesce(e.holds_booking,
                   (select b.event_id from pulse.booking_ids b where b.booking_id = e.data->>'booking_id') = e.event_id))
group by 1
on conflict (customer_id) do update
set registered_at = least(c.registered_at, excluded.registered_at),
    first_seen_at = least(c.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(c.last_seen_at, excluded.last_seen_at),
    searches = c.searches + excluded.searches,
    last_search_at = greatest(c.last_search_at, excluded.last_search_at),
    checkouts = c.checkouts + excluded.checkouts,
    last_checkout_at = greatest(c.last_checkout_at, excluded.last_checkout_at),
    bookings = c.bookings + excluded.bookings,
    booked_amount = c.booked_amount + excluded.booked_amount,
    first_booking_at = least(c.first_booking_at, excluded.first_booking_at),
    last_booking_at = greatest(c.last_booking_at, excluded.last_booking_at),
    changed_in_batch = excluded.changed_in_batch;
