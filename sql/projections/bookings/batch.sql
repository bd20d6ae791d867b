-- The bookings projection's statements, run in this order in each batch's
-- transaction with search_path set to the projection's schema. They read the
-- batch's events from pulse_batch (the projection reads_batch_table: the
-- worker copies them there from pulse.events once), and receive batch_no to
-- stamp the rows they change.

-- name: sort_to_aggregate
-- Grouping a batch with hll and tdigest states per group: hashed, each group's
-- tdigest buffer made the aggregation spill (60-280 ms a batch); sorted, 10-15
-- ms. The estimates of a batch decide it badly, so these statements sort.
set local enable_hashagg = off;

-- name: record_booking_events
-- Keeps the batch's modifications and cancellations in the bookings' histories.
-- A creation is kept in bookings itself; a payment is added up there (add_payments),
-- and kept here only while its booking has not arrived.
insert into booking_events (booking_id, occurred_at, seq, type, amount, currency)
select e.data->>'booking_id',
       e.occurred_at,
       e.seq,
       e.type,
       -- Each type's own amount field: senders may add fields of their own.
       (case e.type when 'booking.cancelled' then e.data->>'refund_amount' else e.data->>'total_amount' end)::numeric,
       case when e.type = 'booking.modified' then e.data->>'currency' end
from pulse_batch e
where e.type in ('booking.modified', 'booking.cancelled');

-- name: create_bookings
-- Creates the batch's bookings, with the payments already captured for them,
-- and adds them to their hours: count, gross revenue, customers and booking
-- values. A booking counts in the hour it was created, whenever it arrives.
with new_bookings as (
  select e.data, e.occurred_at
  from pulse_batch e
  -- The creation that holds the booking_id; a second one stored before 0002 does not count.
  where e.type = 'booking.created' and e.holds_booking
),

held_until_now as (
  -- New bookings with events from earlier batches, which waited for them in held.
  -- A join, which hashes a small held: "= any(array(...))" probed its index once
  -- per new booking, 46 ms per 27,000.
  select h.booking_id
  from held h
  join new_bookings n on n.data->>'booking_id' = h.booking_id
),

payments as (
  -- The batch's payments, and those of held bookings from earlier batches, which
  -- waited in booking_events. Looking every new booking up there instead cost an
  -- index probe per booking (about 100 ms per 27,000).
  select e.data->>'booking_id' as booking_id, e.data->>'currency' as currency,
         (e.data->>'amount')::numeric as amount, e.occurred_at
  from pulse_batch e
  where e.type = 'payment.captured'
  union all
  select be.booking_id, be.currency, be.amount, be.occurred_at
  from booking_events be
  where be.booking_id = any(array(select booking_id from held_until_now))
    and be.type = 'payment.captured'
),

paid as (
  -- One row per booking, so that the bookings need no grouping: grouped by their
  -- jsonb data, sorting them took 80-120 ms per 27,000.
  select booking_id, jsonb_object_agg(currency, amount) filter (where currency is not null) as by_currency,
         max(occurred_at) as last_at
  from (select booking_id, currency, sum(amount) as amount, max(occurred_at) as occurred_at
        from payments
        group by 1, 2) as per_currency
  group by 1
),

created as (
  insert into bookings (booking_id, customer_id, destination, booking_type, channel, created_at,
                        created_total, created_currency, current_total, current_currency,
                        amount_paid, other_payments, last_event_at, changed_in_batch)
  select n.data->>'booking_id',
         n.data->>'customer_id',
         n.data->>'destination',
         n.data->>'booking_type',
         coalesce(n.data->>'channel', 'unknown'),
         n.occurred_at,
         (n.data->>'total_amount')::numeric,
         n.data->>'currency',
         (n.data->>'total_amount')::numeric,
         n.data->>'currency',
         (p.by_currency->>(n.data->>'currency'))::numeric,
         nullif(p.by_currency - (n.data->>'currency'), '{}'),
         greatest(n.occurred_at, p.last_at),
         %(batch_no)s
  from new_bookings n
  left join paid p on p.booking_id = n.data->>'booking_id'
  returning *
),

created_daily as (
  -- The business day computed from the time itself: one expression per row, not a pulse.calendar probe.
  select (b.created_at at time zone s.timezone)::date as day, b.destination, b.booking_type, b.channel,
         b.created_currency as currency, count(*) as bookings, sum(b.created_total) as gross_revenue,
         hll_add_agg(hll_hash_text(b.customer_id)) as customers,
         tdigest(b.created_total::float8, 100) as booking_values
  from created b
  cross join analytics.settings s
  group by 1, 2, 3, 4, 5
),

daily_added as (
  insert into daily as d (day, destination, booking_type, channel, currency,
                          bookings, gross_revenue, customers, booking_values)
  select * from created_daily
  on conflict (day, destination, booking_type, channel, currency) do update
  set bookings = d.bookings + excluded.bookings,
      gross_revenue = d.gross_revenue + excluded.gross_revenue,
      customers = hll_union(d.customers, excluded.customers),
      booking_values = coalesce(tdigest_union(d.booking_values, excluded.booking_values), excluded.booking_values)
),

destinations_added as (
  -- Regrouped from the day's groups above, a few per day, rather than from every booking again.
  insert into destinations_daily as d (day, destination, currency, bookings, gross_revenue)
  select day, destination, currency, sum(bookings), sum(gross_revenue)
  from created_daily
  group by 1, 2, 3
  on conflict (day, destination, currency) do update
  set bookings = d.bookings + excluded.bookings,
      gross_revenue = d.gross_revenue + excluded.gross_revenue
)

insert into hourly as h (bucket, destination, booking_type, channel, currency,
                         bookings, gross_revenue, customers, booking_values, changed_in_batch)
select date_bin('1 hour', created_at, timestamptz '2000-01-01 00:00:00+00'),
       destination,
       booking_type,
       channel,
       created_currency,
       count(*),
       sum(created_total),
       hll_add_agg(hll_hash_text(customer_id)),
       tdigest(created_total::float8, 100),
       %(batch_no)s
from created
group by 1, 2, 3, 4, 5
on conflict (bucket, destination, booking_type, channel, currency) do update
set bookings = h.bookings + excluded.bookings,
    gross_revenue = h.gross_revenue + excluded.gross_revenue,
    customers = hll_union(h.customers, excluded.customers),
    booking_values = coalesce(tdigest_union(h.booking_values, excluded.booking_values), excluded.booking_values),
    changed_in_batch = excluded.changed_in_batch;

-- name: apply_booking_histories
-- Replays the history of every booking the batch modified or cancelled, in event-time order,
-- and applies the difference to the hourly and daily rollups: what the booking's
-- modifications and cancellation contribute now, minus what they contributed
-- before. Events that arrived before their booking.created are waiting in
-- booking_events, their booking in held, and count from the batch that brings
-- the booking.
with batch as (
  select e.type, e.data->>'booking_id' as booking_id, e.holds_booking
  from pulse_batch e
),

released as (
  -- New bookings whose events arrived first: they wait no longer.
  delete from held h
  using batch b
  where b.booking_id = h.booking_id and b.type = 'booking.created' and b.holds_booking
  returning h.booking_id
),

touched as (
  -- Bookings whose totals, modifications or cancellation may change. Payments
  -- alone change only what was paid: add_payments adds those up.
  select booking_id from batch where type in ('booking.modified', 'booking.cancelled')
  union
  select booking_id from released
),

-- "booking_id = any(array(select ... from touched))" makes every lookup below
-- an index scan: the planner cannot guess how few bookings a batch touches.
found as (
  select b.booking_id, b.created_at, b.created_total, b.created_currency
  from bookings b
  where b.booking_id = any(array(select booking_id from touched))
),

held_now as (
  -- Modified or cancelled before their booking.created arrived: held until it does.
  insert into held (booking_id)
  select t.booking_id from touched t
  where not exists (select 1 from found f where f.booking_id = t.booking_id)
  on conflict do nothing
),

history as (
  -- Creation comes first, whatever its timestamp; then by event time, then arrival.
  select e.*,
         row_number() over (partition by e.booking_id
                            order by e.type <> 'booking.created', e.occurred_at, e.seq) as step
  from (
    select booking_id, created_at as occurred_at, null::bigint as seq, 'booking.created' as type,
           created_total as amount, created_currency as currency
    from found
    union all
    select be.booking_id, be.occurred_at, be.seq, be.type, be.amount, be.currency
    from booking_events be
    where be.booking_id = any(array(select booking_id from found))
      -- Payments that waited for their booking stay here; they are in bookings already.
      and be.type <> 'payment.captured'
  ) as e
),

numbered as (
  select history.*,
         count(*) filter (where type in ('booking.created', 'booking.modified')) over w as total_no,
         count(*) filter (where type = 'booking.cancelled') over w as cancellation_no
  from history
  window w as (partition by booking_id order by step)
),

totals as (
  -- Each total the booking had, and the one before it.
  select booking_id, total_no, amount as total, currency as total_currency,
         lag(amount) over w as previous_total,
         lag(currency) over w as previous_currency
  from numbered
  where type in ('booking.created', 'booking.modified')
  window w as (partition by booking_id order by total_no)
),

steps as (
  select n.*, t.total, t.total_currency, t.previous_total, t.previous_currency,
         date_bin('15 minutes', n.occurred_at, timestamptz '2000-01-01 00:00:00+00') as quarter
  from numbered n
  join totals t using (booking_id, total_no)
),

changes as (
  -- A modification takes out the previous total and puts in the new one, so a
  -- change of currency moves the booking's revenue between currencies.
  select booking_id, quarter, total_currency as currency,
         1 as modifications, total as delta, 0 as cancellations, 0 as refunds
  from steps where type = 'booking.modified'
  union all
  select booking_id, quarter, previous_currency, 0, -previous_total, 0, 0
  from steps where type = 'booking.modified'
  union all
  -- Only the first cancellation counts; the refund defaults to the total in force.
  select booking_id, quarter, total_currency, 0, 0, 1, coalesce(amount, total)
  from steps where type = 'booking.cancelled' and cancellation_no = 1
),

new_contributions as (
  select booking_id, quarter, currency,
         sum(modifications)::integer as modifications,
         sum(delta) as modification_delta,
         sum(cancellations)::integer as cancellations,
         sum(refunds) as refunds
  from changes
  group by 1, 2, 3
),

old_contributions as (
  select c.*
  from booking_contributions c
  where c.booking_id = any(array(select booking_id from touched))
),

saved as (
  insert into booking_contributions as c
  select * from new_contributions
  on conflict (booking_id, quarter, currency) do update
  set modifications = excluded.modifications,
      modification_delta = excluded.modification_delta,
      cancellations = excluded.cancellations,
      refunds = excluded.refunds
),

dropped as (
  delete from booking_contributions c
  where c.booking_id = any(array(select booking_id from touched))
    and not exists (select 1 from new_contributions n
                    where (n.booking_id, n.quarter, n.currency) = (c.booking_id, c.quarter, c.currency))
),

state as (
  select booking_id,
         (array_agg(total order by step desc))[1] as current_total,
         (array_agg(total_currency order by step desc))[1] as current_currency,
         count(*) filter (where type = 'booking.modified') as modifications,
         min(occurred_at) filter (where type = 'booking.cancelled' and cancellation_no = 1) as cancelled_at,
         coalesce(sum(coalesce(amount, total)) filter (where type = 'booking.cancelled' and cancellation_no = 1), 0)
           as refunded,
         min(total_currency) filter (where type = 'booking.cancelled' and cancellation_no = 1) as refund_currency,
         max(occurred_at) as last_event_at
  from steps
  group by booking_id
),

updated as (
  update bookings b
  set current_total = s.current_total,
      current_currency = s.current_currency,
      modifications = s.modifications,
      cancelled_at = s.cancelled_at,
      refunded = s.refunded,
      refund_currency = s.refund_currency,
      -- What was paid, per currency, split anew by the currency the booking has now: payments
      -- are added up in bookings, not replayed. amount_paid is NULL when none was in the
      -- booking's currency, so that a payment of 0 is kept. (b is the row before this update.)
      (amount_paid, other_payments) = (
        select (paid->>s.current_currency::text)::numeric, nullif(paid - s.current_currency::text, '{}')
        from (select coalesce(b.other_payments, '{}')
                     || case when b.amount_paid is null then '{}'
                             else jsonb_build_object(b.current_currency, b.amount_paid) end as paid) as before
      ),
      last_event_at = greatest(b.last_event_at, s.last_event_at),
      changed_in_batch = %(batch_no)s
  from state s
  where b.booking_id = s.booking_id
),

difference as (
  -- With each change's booking, hour and business day. Each change looks its booking up through the
  -- primary key, a lateral subquery that "offset 0" keeps the planner from flattening into a join:
  -- joined, the planner took both sides for a handful of rows (a CTE's guess) and compared every
  -- change with every touched booking, 257 million comparisons in one replay batch of 10^7 events
  -- (28 s of its 30), or else hashed a scan of all bookings.
  select c.*, b.destination, b.booking_type, b.channel,
         date_bin('1 hour', c.quarter, timestamptz '2000-01-01 00:00:00+00') as bucket,
         (c.quarter at time zone s.timezone)::date as day
  from (
    select booking_id, quarter, currency, modifications, modification_delta, cancellations, refunds
    from new_contributions
    union all
    select booking_id, quarter, currency, -modifications, -modification_delta, -cancellations, -refunds
    from old_contributions
  ) as c
  cross join lateral (select b.destination, b.booking_type, b.channel
                      from bookings b
                      where b.booking_id = c.booking_id
                      offset 0) as b
  cross join analytics.settings s
),

changed_daily as (
  select day, destination, booking_type, channel, currency,
         sum(modifications) as modifications, sum(modification_delta) as modification_delta,
         sum(cancellations) as cancellations, sum(refunds) as refunds
  from difference
  group by 1, 2, 3, 4, 5
),

daily_changed as (
  insert into daily as r (day, destination, booking_type, channel, currency,
                          modifications, modification_delta, cancellations, refunds)
  select * from changed_daily
  where modifications <> 0 or modification_delta <> 0 or cancellations <> 0 or refunds <> 0
  on conflict (day, destination, booking_type, channel, currency) do update
  set modifications = r.modifications + excluded.modifications,
      modification_delta = r.modification_delta + excluded.modification_delta,
      cancellations = r.cancellations + excluded.cancellations,
      refunds = r.refunds + excluded.refunds
),

destinations_changed as (
  -- Regrouped from the day's groups above rather than from every change again.
  insert into destinations_daily as r (day, destination, currency, modifications, modification_delta,
                                       cancellations, refunds)
  select day, destination, currency, sum(modifications), sum(modification_delta), sum(cancellations), sum(refunds)
  from changed_daily
  group by 1, 2, 3
  having sum(modifications) <> 0 or sum(modification_delta) <> 0 or sum(cancellations) <> 0 or sum(refunds) <> 0
  on conflict (day, destination, currency) do update
  set modifications = r.modifications + excluded.modifications,
      modification_delta = r.modification_delta + excluded.modification_delta,
      cancellations = r.cancellations + excluded.cancellations,
      refunds = r.refunds + excluded.refunds
)

insert into hourly as h (bucket, destination, booking_type, channel, currency,
                         modifications, modification_delta, cancellations, refunds, changed_in_batch)
select bucket, destination, booking_type, channel, currency,
       sum(modifications), sum(modification_delta), sum(cancellations), sum(refunds),
       %(batch_no)s
from difference
group by 1, 2, 3, 4, 5
having sum(modifications) <> 0 or sum(modification_delta) <> 0 or sum(cancellations) <> 0 or sum(refunds) <> 0
on conflict (bucket, destination, booking_type, channel, currency) do update
set modifications = h.modifications + excluded.modifications,
    modification_delta = h.modification_delta + excluded.modification_delta,
    cancellations = h.cancellations + excluded.cancellations,
    refunds = h.refunds + excluded.refunds,
    changed_in_batch = excluded.changed_in_batch;

-- name: add_payments
-- Adds the batch's payments to their bookings: to amount_paid in the booking's
-- currency (as it is after the histories above), to other_payments otherwise.
-- A booking created in this batch has its payments from create_bookings. A
-- payment whose booking has not arrived waits in booking_events, its booking in held.
with payments as (
  select e.data->>'booking_id' as booking_id, e.occurred_at, e.seq, e.data->>'currency' as currency,
         (e.data->>'amount')::numeric as amount
  from pulse_batch e
  where e.type = 'payment.captured'
    -- not exists, an anti-join: "not in" (a subplan) is hashed only while the batch's bookings fit in
    -- work_mem, and otherwise searched per payment, which took minutes on a replay's 400,000-event batch.
    and not exists (select 1 from pulse_batch c
                    where c.type = 'booking.created' and c.holds_booking
                      and c.data->>'booking_id' = e.data->>'booking_id')
),

looked_up as (
  select p.*, exists (select 1 from bookings b where b.booking_id = p.booking_id) as known
  from payments p
),

waiting as (
  insert into booking_events (booking_id, occurred_at, seq, type, amount, currency)
  select booking_id, occurred_at, seq, 'payment.captured', amount, currency
  from looked_up
  where not known
  returning booking_id
),

held_now as (
  insert into held (booking_id)
  select distinct booking_id from waiting
  on conflict do nothing
),

per_currency as (
  select booking_id, currency, sum(amount) as amount, max(occurred_at) as last_at
  from looked_up
  where known
  group by 1, 2
)

update bookings b
set amount_paid = case when p.in_currency is null then b.amount_paid
                       else coalesce(b.amount_paid, 0) + p.in_currency end,
    other_payments = case when p.others is null then b.other_payments
                          else coalesce(b.other_payments, '{}') || p.others end,
    last_event_at = greatest(b.last_event_at, p.last_at),
    changed_in_batch = %(batch_no)s
from (
  select pc.booking_id,
         max(pc.last_at) as last_at,
         -- NULL when none is in the booking's currency: amount_paid stays as it was.
         sum(pc.amount) filter (where pc.currency = b2.current_currency) as in_currency,
         jsonb_object_agg(pc.currency, coalesce((b2.other_payments->>pc.currency)::numeric, 0) + pc.amount)
           filter (where pc.currency <> b2.current_currency) as others
  from per_currency pc
  join bookings b2 using (booking_id)
  group by pc.booking_id
) p
where b.booking_id = p.booking_id;
