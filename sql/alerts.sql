-- The alert detector's queries (app/alerts.py, docs/alerts.md). Every figure
-- comes from the signals projection's minute rollups (pulse_signals), read
-- "as of" %(now)s: only minutes before it count, so a test or the bench can
-- replay any moment.

-- name: baseline_identity
-- What a cached baseline depends on beyond its hour: the database, and the
-- first complete hour with data (weeks before it are unknown, not zeros).
select (select oid from pg_database where datname = current_database()) as database,
       date_trunc('hour', min(bucket)) + interval '1 hour' as first_hour
from pulse_signals.minutely;

-- name: hour_baselines
-- Per hour of %(hours)s, series and figure: the median over the same hour of
-- the week in the past %(weeks)s weeks (weeks before %(first_hour)s left out,
-- quiet hours counted as zero), and the relative week-to-week variance beyond
-- chance (v, so that variance = mean + v mean^2) from the MAD. Rows with a NULL
-- dim give, per hour, how many past weeks count: a series seen only now has
-- zeros in each of them. Past weeks do not change, so the detector caches this.
with past as (
  select h.hour, k, h.hour - k * interval '7 days' as past_hour
  from unnest(%(hours)s::timestamptz[]) as h (hour), generate_series(1, %(weeks)s::int) as k
  where h.hour - k * interval '7 days' >= %(first_hour)s::timestamptz
),

past_rows as (
  select p.hour, p.k, m.destination, m.booking_type, m.currency,
         sum(m.bookings) as bookings,
         sum(m.gross_revenue) * (select rate from analytics.fx_rate(m.currency::char(3), p.past_hour)) as revenue,
         sum(m.cancellations) as cancellations,
         sum(m.payments) as payments,
         sum(m.payment_failures) as failures
  from past p
  join pulse_signals.minutely m on m.bucket >= p.past_hour and m.bucket < p.past_hour + interval '1 hour'
  group by p.hour, p.k, p.past_hour, m.destination, m.booking_type, m.currency
),

past_searches as (
  select p.hour, p.k, s.destination, sum(s.searches) as searches
  from past p
  join pulse_signals.searches s on s.bucket >= p.past_hour and s.bucket < p.past_hour + interval '1 hour'
  group by 1, 2, 3
),

past_series as (
  select hour, k,
         case when grouping(destination) = 0 then 'destination'
              when grouping(booking_type) = 0 then 'booking_type'
              when grouping(currency) = 0 then 'currency' else 'all' end as dim,
         coalesce(destination, booking_type, currency, '') as value,
         sum(bookings) as bookings, sum(revenue) as revenue, sum(cancellations) as cancellations,
         sum(payments) as payments, sum(failures) as failures, 0 as searches
  from past_rows
  group by grouping sets ((hour, k, destination), (hour, k, booking_type), (hour, k, currency), (hour, k))
  union all
  select hour, k, case when grouping(destination) = 0 then 'destination' else 'all' end,
         coalesce(destination, ''), 0, 0, 0, 0, 0, sum(searches)
  from past_searches
  group by grouping sets ((hour, k, destination), (hour, k))
),

past_totals as (
  select hour, k, dim, value, sum(bookings) as bookings, sum(revenue) as revenue,
         sum(cancellations) as cancellations, sum(payments) as payments, sum(failures) as failures,
         sum(searches) as searches
  from past_series
  group by 1, 2, 3, 4
),

series as (
  select distinct hour, dim, value from past_totals
),

grid as (
  -- A quiet past hour is a zero, not a missing week.
  select s.dim, s.value, p.hour, p.k,
         coalesce(t.bookings, 0) as bookings, coalesce(t.revenue, 0) as revenue,
         coalesce(t.cancellations, 0) as cancellations, coalesce(t.payments, 0) as payments,
         coalesce(t.failures, 0) as failures, coalesce(t.searches, 0) as searches
  from series s
  join past p on p.hour = s.hour
  left join past_totals t on (t.dim, t.value, t.hour, t.k) = (s.dim, s.value, p.hour, p.k)
),

medians as (
  select dim, value, hour, count(*) as weeks,
         percentile_cont(0.5) within group (order by bookings) as bookings,
         percentile_cont(0.5) within group (order by revenue) as revenue,
         percentile_cont(0.5) within group (order by cancellations) as cancellations,
         percentile_cont(0.5) within group (order by payments) as payments,
         percentile_cont(0.5) within group (order by failures) as failures,
         percentile_cont(0.5) within group (order by searches) as searches
  from grid
  group by 1, 2, 3
),

deviations as (
  select g.dim, g.value, g.hour,
         percentile_cont(0.5) within group (order by abs(g.bookings - m.bookings)) as bookings,
         percentile_cont(0.5) within group (order by abs(g.revenue - m.revenue)) as revenue,
         percentile_cont(0.5) within group (order by abs(g.cancellations - m.cancellations)) as cancellations,
         percentile_cont(0.5) within group (order by abs(g.failures - m.failures)) as failures
  from grid g
  join medians m using (dim, value, hour)
  group by 1, 2, 3
)

select m.hour, m.dim, m.value, m.weeks, m.bookings, m.revenue, m.cancellations, m.payments, m.failures, m.searches,
       greatest(0, (1.4826 * d.bookings) ^ 2 - m.bookings) / nullif(m.bookings ^ 2, 0) as v_bookings,
       (1.4826 * d.revenue) ^ 2 / nullif(m.revenue ^ 2, 0) as rel_revenue,
       greatest(0, (1.4826 * d.cancellations) ^ 2 - m.cancellations) / nullif(m.cancellations ^ 2, 0)
         as v_cancellations,
       greatest(0, (1.4826 * d.failures) ^ 2 - m.failures) / nullif(m.failures ^ 2, 0) as v_failures
from medians m
join deviations d using (dim, value, hour)
union all
select hour, null, null, count(*), null, null, null, null, null, null, null, null, null, null
from past
group by hour;

-- name: window_observations
-- Per window (%(names)s from %(starts)s to %(ends)s) and series: what was
-- observed, revenue in the reporting currency at each hour's rate (looked up
-- once per hour and currency).
with windows as (
  select * from unnest(%(names)s::text[], %(starts)s::timestamptz[], %(ends)s::timestamptz[]) as w (name, starts, ends)
),

observed_hours as (
  select w.name, m.destination, m.booking_type, m.currency, date_trunc('hour', m.bucket) as hour,
         sum(m.bookings) as bookings, sum(m.gross_revenue) as gross_revenue,
         sum(m.cancellations) as cancellations, sum(m.payments) as payments,
         sum(m.payment_failures) as failures, sum(m.paid_amount) as paid, sum(m.paid_of_total) as paid_total
  from windows w
  join pulse_signals.minutely m on m.bucket >= w.starts and m.bucket < w.ends
  group by 1, 2, 3, 4, 5
),

observed_rows as (
  select o.name, o.destination, o.booking_type, o.currency,
         sum(o.bookings) as bookings,
         sum(o.gross_revenue * r.rate) as revenue,
         bool_or(o.gross_revenue <> 0 and r.rate is null) as revenue_missing,
         sum(o.cancellations) as cancellations, sum(o.payments) as payments,
         sum(o.failures) as failures, sum(o.paid) as paid, sum(o.paid_total) as paid_total
  from observed_hours o
  left join lateral analytics.fx_rate(o.currency::char(3), o.hour) as r on true
  group by 1, 2, 3, 4
),

observed_series as (
  select name,
         case when grouping(destination) = 0 then 'destination'
              when grouping(booking_type) = 0 then 'booking_type'
              when grouping(currency) = 0 then 'currency' else 'all' end as dim,
         coalesce(destination, booking_type, currency, '') as value,
         sum(bookings) as bookings, sum(revenue) as revenue, bool_or(revenue_missing) as revenue_missing,
         sum(cancellations) as cancellations, sum(payments) as payments, sum(failures) as failures,
         sum(paid) as paid, sum(paid_total) as paid_total, 0 as searches
  from observed_rows
  group by grouping sets ((name, destination), (name, booking_type), (name, currency), (name))
  union all
  select w.name, case when grouping(s.destination) = 0 then 'destination' else 'all' end,
         coalesce(s.destination, ''), 0, 0, false, 0, 0, 0, 0, 0, sum(s.searches)
  from windows w
  join pulse_signals.searches s on s.bucket >= w.starts and s.bucket < w.ends
  group by grouping sets ((w.name, s.destination), (w.name))
)

select name, dim, value, sum(bookings) as bookings, sum(revenue) as revenue,
       bool_or(revenue_missing) as revenue_missing, sum(cancellations) as cancellations,
       sum(payments) as payments, sum(failures) as failures, sum(paid) as paid, sum(paid_total) as paid_total,
       sum(searches) as searches
from observed_series
group by 1, 2, 3;

-- name: booking_values
-- Per destination, booking type and currency with bookings in the last
-- %(minutes)s minutes: their lowest and highest value, and the usual range
-- (0.5th, 50th and 99.5th percentiles) over the 28 days before today, when
-- that many days hold at least %(min_bookings)s bookings.
with params as (
  select date_bin('1 minute', %(now)s::timestamptz, timestamptz '2000-01-01 00:00+00') as now
),

recent as (
  select m.destination, m.booking_type, m.currency, min(m.min_value) as min_value, max(m.max_value) as max_value,
         sum(m.bookings) as bookings
  from pulse_signals.minutely m, params p
  where m.bucket >= p.now - make_interval(mins => %(minutes)s::int) and m.bucket < p.now and m.bookings > 0
  group by 1, 2, 3
),

usual as (
  select v.destination, v.booking_type, v.currency, sum(v.bookings) as bookings,
         tdigest_percentile(v.values, array[0.005, 0.5, 0.995]) as percentiles
  from pulse_signals.booking_values v, params p
  where v.day >= (p.now at time zone 'UTC')::date - 28 and v.day < (p.now at time zone 'UTC')::date
    and (v.destination, v.booking_type, v.currency) in (select destination, booking_type, currency from recent)
  group by 1, 2, 3
  having sum(v.bookings) >= %(min_bookings)s
)

select r.destination, r.booking_type, r.currency, r.bookings, r.min_value, r.max_value,
       u.bookings as usual_bookings, u.percentiles[1] as low, u.percentiles[2] as median, u.percentiles[3] as high
from recent r
join usual u using (destination, booking_type, currency);

-- name: detector_lock
-- One detector run at a time across server processes: the others skip this minute.
select pg_try_advisory_xact_lock(hashtext('pulse.detector')) as mine;

-- name: unresolved_alerts
select id, kind, subject, severity, status, rule, last_seen_at, observed, expected
from analytics.alerts
where status <> 'resolved';

-- name: open_alert
insert into analytics.alerts (opened_at, kind, subject, observed, expected, severity, details, rule, last_seen_at)
values (%(now)s, %(kind)s, %(subject)s, %(observed)s, %(expected)s, %(severity)s, %(details)s, %(rule)s, %(now)s)
returning id;

-- name: refresh_alert
-- The condition still holds: newest figures; severity only rises while open (escalation).
update analytics.alerts
set observed = %(observed)s, expected = %(expected)s, details = %(details)s, last_seen_at = %(now)s,
    severity = %(severity)s, rule = %(rule)s
where id = %(id)s;

-- name: resolve_alert
update analytics.alerts
set status = 'resolved', resolved_at = %(at)s, resolved_by = %(by)s
where id = %(id)s and status <> 'resolved'
returning id;

-- name: acknowledge_alert
update analytics.alerts
set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = %(by)s
where id = %(id)s and status = 'open'
returning id;

-- name: alert_by_id
select id, opened_at, kind, subject, observed, expected, severity, status, resolved_at, details,
       rule, last_seen_at, acknowledged_at, acknowledged_by, resolved_by
from analytics.alerts where id = %(id)s;

-- name: list_alerts
-- Unresolved alerts, and those resolved in the last %(hours)s hours, newest first.
select id, opened_at, kind, subject, observed, expected, severity, status, resolved_at, details,
       rule, last_seen_at, acknowledged_at, acknowledged_by, resolved_by
from analytics.alerts
where status <> 'resolved' or resolved_at > now() - make_interval(hours => %(hours)s::int)
order by opened_at desc, id desc
limit 500;

-- name: alert_rules
select rule, kind, metric, direction, window_minutes, dimensions, threshold, critical_threshold, min_z,
       min_volume, severity, resolve_after_minutes
from analytics.alert_rules
where enabled
order by rule;

-- name: notify_alerts
select pg_notify(%(channel)s, 'alerts');

-- name: alert_changes_after
-- Alert changes after a seq, in order: the stream's alerts topic.
select seq, alert from pulse.alert_changes where seq > %(after)s and seq <= %(upto)s order by seq limit %(limit)s;

-- name: last_alert_change
select coalesce(max(seq), 0) as seq from pulse.alert_changes;

-- name: current_alerts
-- What a fresh stream client gets first: each unresolved alert, and those
-- resolved in the last 24 hours, as of their latest change up to %(upto)s.
select distinct on (c.alert_id) c.seq, c.alert
from pulse.alert_changes c
join analytics.alerts a on a.id = c.alert_id
where c.seq <= %(upto)s and (a.status <> 'resolved' or a.resolved_at > now() - interval '24 hours')
order by c.alert_id, c.seq desc;

-- name: alerts_open_by_severity
select severity, count(*) as alerts from analytics.alerts where status <> 'resolved' group by 1;

-- name: lock_webhook_cursor
-- The webhook dispatcher's cursor; none while another process holds it.
select seq from pulse.webhook_cursor for update skip locked;

-- name: changes_to_deliver
select seq, change, alert from pulse.alert_changes where seq > %(after)s order by seq limit 500;

-- name: move_webhook_cursor
update pulse.webhook_cursor set seq = %(seq)s;

-- name: record_webhook_attempt
insert into pulse.webhook_attempts (job_id, change_seq, url, attempt, status_code, error, duration_ms)
values (%(job_id)s, %(change_seq)s, %(url)s, %(attempt)s, %(status_code)s, %(error)s, %(duration_ms)s)
on conflict (job_id, attempt) do update
set status_code = excluded.status_code, error = excluded.error, duration_ms = excluded.duration_ms, at = now();
