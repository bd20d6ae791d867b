-- The alert detector's queries (app/alerts.py, docs/alerts.md). Every figure
-- comes from the signals projection's minute rollups (pulse_signals), read
-- "as of" %(now)s: only minutes before it count, so a test or the bench can
-- replay any moment.

-- name: signal_windows
-- Per window and series, what was observed and what the same hour of the week
-- brought in past weeks. Windows: the last N minutes for each N in
-- %(windows)s, the current hour so far, and the last complete hour. Expected
-- is the median over the past %(weeks)s weeks of each hour's figure (weeks
-- before the data began are left out), pro rata over the minutes of that hour
-- the window covers; level is the week-to-week variance beyond chance,
-- relative (v, so that variance = mean + v mean^2), from the MAD.
with params as (
  select date_bin('1 minute', %(now)s::timestamptz, timestamptz '2000-01-01 00:00+00') as now,
         %(weeks)s::int as weeks
),

windows as (
  select 'm' || n as name, p.now - make_interval(mins => n) as starts, p.now as ends
  from params p, unnest(%(windows)s::int[]) as n
  union all
  select 'partial_hour', date_trunc('hour', p.now), p.now from params p where p.now > date_trunc('hour', p.now)
  union all
  select 'last_hour', date_trunc('hour', p.now) - interval '1 hour', date_trunc('hour', p.now) from params p
),

hours as (
  select generate_series(date_trunc('hour', min(starts)), date_trunc('hour', max(ends) - interval '1 minute'),
                         interval '1 hour') as hour
  from windows
),

first_hour as (
  -- The first complete hour with data: weeks before it are not zeros, they are unknown.
  select date_trunc('hour', min(bucket)) + interval '1 hour' as hour from pulse_signals.minutely
),

past as (
  select h.hour, k, h.hour - k * interval '7 days' as past_hour
  from hours h, params p, generate_series(1, p.weeks) as k, first_hour f
  where h.hour - k * interval '7 days' >= f.hour
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

observed_hours as (
  -- Per hour first: revenue converts at each hour's rate, looked up once per hour and currency.
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
),

observed as (
  select name, dim, value, sum(bookings) as bookings, sum(revenue) as revenue,
         bool_or(revenue_missing) as revenue_missing, sum(cancellations) as cancellations,
         sum(payments) as payments, sum(failures) as failures, sum(paid) as paid, sum(paid_total) as paid_total,
         sum(searches) as searches
  from observed_series
  group by 1, 2, 3
),

series as (
  select distinct dim, value from past_totals
  union
  select dim, value from observed
),

grid as (
  -- A quiet past hour is a zero, not a missing week.
  select s.dim, s.value, p.hour, p.k,
         coalesce(t.bookings, 0) as bookings, coalesce(t.revenue, 0) as revenue,
         coalesce(t.cancellations, 0) as cancellations, coalesce(t.payments, 0) as payments,
         coalesce(t.failures, 0) as failures, coalesce(t.searches, 0) as searches
  from series s
  cross join past p
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
),

baseline as (
  -- Per hour: the median, and the relative week-to-week variance beyond Poisson chance.
  select m.*,
         greatest(0, (1.4826 * d.bookings) ^ 2 - m.bookings) / nullif(m.bookings ^ 2, 0) as v_bookings,
         (1.4826 * d.revenue) ^ 2 / nullif(m.revenue ^ 2, 0) as rel_revenue,
         greatest(0, (1.4826 * d.cancellations) ^ 2 - m.cancellations) / nullif(m.cancellations ^ 2, 0)
           as v_cancellations,
         greatest(0, (1.4826 * d.failures) ^ 2 - m.failures) / nullif(m.failures ^ 2, 0) as v_failures
  from medians m
  join deviations d using (dim, value, hour)
),

expected as (
  select w.name, b.dim, b.value, min(b.weeks) as weeks,
         sum(b.bookings * f.share) as bookings,
         sum(b.revenue * f.share) as revenue,
         sum(b.cancellations * f.share) as cancellations,
         sum(b.payments * f.share) as payments,
         sum(b.failures * f.share) as failures,
         sum(b.searches * f.share) as searches,
         max(b.v_bookings) as v_bookings,
         max(b.rel_revenue) as rel_revenue,
         max(b.v_cancellations) as v_cancellations,
         max(b.v_failures) as v_failures
  from windows w
  join baseline b on b.hour >= date_trunc('hour', w.starts) and b.hour < w.ends
  cross join lateral (
    select extract(epoch from least(b.hour + interval '1 hour', w.ends) - greatest(b.hour, w.starts)) / 3600
      as share
  ) as f
  group by 1, 2, 3
)

select w.name as window, extract(epoch from w.ends - w.starts)::int / 60 as minutes, s.dim, s.value,
       coalesce(e.weeks, 0) as weeks,
       coalesce(o.bookings, 0) as bookings, coalesce(o.revenue, 0) as revenue,
       coalesce(o.revenue_missing, false) as revenue_missing,
       coalesce(o.cancellations, 0) as cancellations, coalesce(o.payments, 0) as payments,
       coalesce(o.failures, 0) as failures, coalesce(o.paid, 0) as paid, coalesce(o.paid_total, 0) as paid_total,
       coalesce(o.searches, 0) as searches,
       e.bookings as e_bookings, e.revenue as e_revenue, e.cancellations as e_cancellations,
       e.payments as e_payments, e.failures as e_failures, e.searches as e_searches,
       e.v_bookings, e.rel_revenue, e.v_cancellations, e.v_failures
from windows w
cross join series s
left join observed o on (o.name, o.dim, o.value) = (w.name, s.dim, s.value)
left join expected e on (e.name, e.dim, e.value) = (w.name, s.dim, s.value)
where o.name is not null or e.name is not null;

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
