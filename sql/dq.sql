-- The data-quality checks' queries (app/dq.py, docs/alerts.md). None counts
-- the whole event log: each reads an hour of it by time (chunk and index
-- pruned), a projection's own small tables, or the catalog.

-- name: dq_checks
select "check", threshold from analytics.dq_checks where enabled;

-- name: quarantine_rate
select (select count(*) from pulse.events
        where occurred_at > %(now)s::timestamptz - interval '2 hours'
          and received_at > %(now)s::timestamptz - interval '1 hour' and received_at <= %(now)s) as accepted,
       (select count(*) from pulse.quarantine
        where received_at > %(now)s::timestamptz - interval '1 hour' and received_at <= %(now)s) as quarantined;

-- name: duplicate_events
-- Event ids stored twice among the last hour's events, and booking ids created
-- by an event other than the one that holds them (writers that bypassed pulse.append_events).
select (select count(*) - count(distinct event_id) from pulse.events
        where occurred_at > %(now)s::timestamptz - interval '1 hour' and occurred_at <= %(now)s)
     + (select count(*) from pulse.events e
        where e.occurred_at > %(now)s::timestamptz - interval '1 hour' and e.occurred_at <= %(now)s
          and e.type = 'booking.created'
          and (select b.event_id from pulse.booking_ids b where b.booking_id = e.data->>'booking_id')
              is distinct from e.event_id) as duplicates;

-- name: orphan_events
-- Modifications, cancellations and payments waiting for their booking longer than %(seconds)s.
select count(*) as orphans, min(received_at) as oldest
from pulse_signals.held
where received_at < %(now)s::timestamptz - make_interval(secs => %(seconds)s::float8);

-- name: freshness
-- Seconds since the last booking.created, payment.captured and search.performed,
-- and whether the same hour of past weeks had any (the signals rollups say so cheaply).
with types (type) as (values ('booking.created'), ('payment.captured'), ('search.performed')),

last as (
  select t.type,
         (select max(e.occurred_at) from pulse.events e
          where e.type = t.type and e.occurred_at > %(now)s::timestamptz - interval '1 day'
            and e.occurred_at <= %(now)s::timestamptz + interval '5 minutes') as last_at
  from types t
),

usual as (
  select exists (select 1 from pulse_signals.minutely m, generate_series(1, 4) k
                 where m.bucket >= %(now)s::timestamptz - k * interval '7 days' - interval '1 hour'
                   and m.bucket < %(now)s::timestamptz - k * interval '7 days' and m.bookings > 0) as bookings,
         exists (select 1 from pulse_signals.minutely m, generate_series(1, 4) k
                 where m.bucket >= %(now)s::timestamptz - k * interval '7 days' - interval '1 hour'
                   and m.bucket < %(now)s::timestamptz - k * interval '7 days' and m.payments > 0) as payments,
         exists (select 1 from pulse_signals.searches s, generate_series(1, 4) k
                 where s.bucket >= %(now)s::timestamptz - k * interval '7 days' - interval '1 hour'
                   and s.bucket < %(now)s::timestamptz - k * interval '7 days') as searches
)

select l.type, l.last_at,
       extract(epoch from %(now)s::timestamptz - coalesce(l.last_at, %(now)s::timestamptz - interval '1 day'))
         as seconds,
       case l.type when 'booking.created' then u.bookings when 'payment.captured' then u.payments
                   else u.searches end as usual
from last l, usual u;

-- name: projection_lag
-- Events a projection has yet to apply, counted through the position index up
-- to %(cap)s (never the whole log), and the age of the oldest of them.
select (select count(*) from (select 1 from pulse.events e
                              where (e.xact_id, e.seq) > (c.xact_id, c.seq)
                              limit %(cap)s) as pending) as events,
       extract(epoch from now() - (select e.received_at from pulse.events e
                                   where (e.xact_id, e.seq) > (c.xact_id, c.seq)
                                   order by e.xact_id, e.seq limit 1)) as seconds
from pulse.projection_checkpoints c
where c.projection = %(projection)s;

-- name: oldest_transaction
-- The oldest open transaction of this database (ours aside): it holds every projection back.
select extract(epoch from now() - xact_start) as seconds, pid
from pg_stat_activity
where datname = current_database() and xact_start is not null and pid <> pg_backend_pid()
  and backend_type = 'client backend'
order by xact_start
limit 1;

-- name: volume
-- Bookings, searches, payments and cancellations of the last complete hour
-- against the median of the same hour over the past weeks with data.
with hour as (
  select date_trunc('hour', %(now)s::timestamptz) - interval '1 hour' as starts
),

first as (
  select date_trunc('hour', min(bucket)) + interval '1 hour' as hour from pulse_signals.minutely
),

weeks as (
  select k, h.starts - k * interval '7 days' as starts
  from hour h, first f, generate_series(0, 8) as k
  where h.starts - k * interval '7 days' >= f.hour
),

counts as (
  select w.k,
         coalesce((select sum(bookings + cancellations + payments + payment_failures) from pulse_signals.minutely m
                   where m.bucket >= w.starts and m.bucket < w.starts + interval '1 hour'), 0)
       + coalesce((select sum(searches) from pulse_signals.searches s
                   where s.bucket >= w.starts and s.bucket < w.starts + interval '1 hour'), 0) as events
  from weeks w
)

select (select events from counts where k = 0) as observed,
       (select percentile_cont(0.5) within group (order by events) from counts where k > 0) as expected,
       (select count(*) from counts where k > 0) as weeks;

-- name: record_result
insert into analytics.dq_results (run_at, "check", status, observed, threshold, details)
values (%(run_at)s, %(check)s, %(status)s, %(observed)s, %(threshold)s, %(details)s)
on conflict (run_at, "check") do update
set status = excluded.status, observed = excluded.observed, threshold = excluded.threshold,
    details = excluded.details;

-- name: latest_results
select run_at, "check", status, observed, threshold, details
from analytics.dq_results
where run_at = (select max(run_at) from analytics.dq_results)
order by "check";

-- name: dq_due
-- Whether the scheduled checks are due, across every server process: none ran in
-- the last %(seconds)s seconds; and the reconciliation, none in the last hour.
-- Taking the lock keeps two processes from running them at once.
select pg_try_advisory_xact_lock(hashtext('pulse.dq')) as mine,
       coalesce(max(run_at), '-infinity') < now() - make_interval(secs => %(seconds)s) as due,
       coalesce(max(run_at) filter (where "check" = 'reconciliation'), '-infinity') < now() - interval '1 hour'
         as reconcile
from analytics.dq_results;
