-- Named queries used by the Python code. Each starts with a "-- name: NAME"
-- line and a one-line description; app/sql.py loads them by name.

-- name: append_events
-- Appends events through the write contract, pulse.append_events: their log
-- positions, or the event that already holds a booking_id they would create.
-- Binary parameters; data as JSON text, parsed into jsonb by PostgreSQL.
-- Each row names its event by its place in the arrays (1-based, "ord"): an
-- integer is cheaper to read back and to look up than a uuid.
select i.ord, r.xact_id, r.seq, r.booking_taken, r.taken_by
from pulse.append_events(%(event_ids)b::uuid[], %(types)b::text[], %(occurred_ats)b::timestamptz[],
                         %(datas)b::text[]::jsonb[]) as r
join unnest(%(event_ids)b::uuid[]) with ordinality as i (event_id, ord) using (event_id);

-- name: quarantine
-- Keeps rejected input with its reasons.
insert into pulse.quarantine (content_type, raw, reasons)
select %(content_type)s, raw, reasons
from unnest(%(raws)s::bytea[], %(reasons)s::jsonb[]) as q (raw, reasons);

-- name: ensure_checkpoint
-- Creates a projection's checkpoint at the start of the log if it has none.
insert into pulse.projection_checkpoints (projection, version, batch_no)
values (%(projection)s, %(version)s, %(batch_no)s)
on conflict do nothing;

-- name: read_horizon
-- The oldest transaction id still running: every event written below it is final.
-- Read before the batch takes its own transaction id, which would hold it back.
select pg_snapshot_xmin(s)::text::bigint as horizon,
       pg_snapshot_xmin(s) <> pg_snapshot_xmax(s) as writers_running
from pg_current_snapshot() as s;

-- name: read_checkpoint
-- A projection's checkpoint, unlocked: a batch that finds nothing to apply
-- stays read-only, so it takes no transaction id that would hold the horizon
-- back for the other projections, and its commit waits for no WAL flush.
select xact_id::text::bigint as xact_id, seq, batch_no, version
from pulse.projection_checkpoints
where projection = %(projection)s;

-- name: lock_checkpoint
-- Locks a projection's checkpoint for one batch; none if another worker holds it.
select xact_id::text::bigint as xact_id, seq, batch_no, version
from pulse.projection_checkpoints
where projection = %(projection)s
for update skip locked;

-- name: next_batch_end
-- The last position of the next batch, and its size: at most batch_size events
-- after the checkpoint, all below the horizon (pulse.next_batch_end).
select events, end_xact_id, end_seq
from pulse.next_batch_end(%(xact_id)s::text::xid8, %(seq)s, %(horizon)s::text::xid8, %(batch_size)s);

-- name: full_batch_end
-- The end of a full batch: the batch_size-th position after the checkpoint, below
-- the horizon; none when fewer are there (next_batch_end then finds the end).
-- The merge of the chunks' position indexes streams past the other positions
-- without keeping or counting them: 34 ms per 200,000 positions against
-- next_batch_end's 87-118 ms. Run with sorting off, as next_batch_end is, so
-- that the planner merges the chunks' indexes rather than sorting them all.
select e.xact_id::text::bigint as end_xact_id, e.seq as end_seq
from pulse.events e
where (e.xact_id, e.seq) > (%(xact_id)s::text::xid8, %(seq)s)
  and e.xact_id < %(horizon)s::text::xid8
order by e.xact_id, e.seq
offset %(batch_size)s - 1
limit 1;

-- name: create_batch_table
-- The batch a projection applies, read once from pulse.events instead of once
-- per statement (projections that declare reads_batch_table). Temporary: no
-- WAL, private to the connection; emptied at commit or rollback.
create temp table if not exists pulse_batch (
  xact_id       xid8        not null,
  seq           bigint      not null,
  event_id      uuid        not null,
  type          text        not null,
  occurred_at   timestamptz not null,
  received_at   timestamptz not null,
  data          jsonb       not null,
  -- For a booking.created: whether it is the creation that holds its booking_id (pulse.booking_ids).
  holds_booking boolean
) on commit delete rows;

-- name: empty_batch_table
-- A replay's swap applies several batches in one transaction.
delete from pulse_batch;

-- name: fill_batch_table
-- The batch's events of the projection's batch table types, each read once from pulse.events.
insert into pulse_batch (xact_id, seq, event_id, type, occurred_at, received_at, data, holds_booking)
select e.xact_id, e.seq, e.event_id, e.type, e.occurred_at, e.received_at, e.data,
       case when e.type = 'booking.created' then
         -- Marked by the write contract; else looked up, a probe per creation.
         coalesce(e.holds_booking,
                  (select i.event_id from pulse.booking_ids i where i.booking_id = e.data->>'booking_id') = e.event_id)
       end
from pulse.events e
where (e.xact_id, e.seq) > (%(start_xact_id)s::text::xid8, %(start_seq)s)
  and (e.xact_id, e.seq) <= (%(end_xact_id)s::text::xid8, %(end_seq)s)
  and e.type = any(%(batch_table_types)s::text[]);

-- name: advance_checkpoint
-- Moves a projection's checkpoint to the end of the batch it just applied, and
-- remembers the batch (every thousandth batch forgets those over a day old).
with remembered as (
  insert into pulse.projection_batches as b (projection, batch_no, end_xact_id, end_seq, events)
  values (%(projection)s, %(batch_no)s, %(end_xact_id)s::text::xid8, %(end_seq)s, %(events)s)
  on conflict (projection, batch_no) do update
  set end_xact_id = excluded.end_xact_id, end_seq = excluded.end_seq, events = excluded.events,
      committed_at = excluded.committed_at
),

forgotten as (
  delete from pulse.projection_batches
  where %(batch_no)s %% 1000 = 0 and projection = %(projection)s and committed_at < now() - interval '1 day'
)

update pulse.projection_checkpoints
set xact_id = %(end_xact_id)s::text::xid8,
    seq = %(end_seq)s,
    batch_no = %(batch_no)s,
    events_projected = events_projected + %(events)s,
    updated_at = now(),
    last_error = null,
    last_error_at = null,
    last_error_event_id = null
where projection = %(projection)s;

-- name: notify_projection
-- Wakes the live stream once per committed batch: a hint, never data.
select pg_notify(%(channel)s, %(projection)s);

-- name: record_projection_error
-- Remembers why a projection's last batch failed, for GET /v1/status; when the
-- batch was a single event, which event it is stuck at.
update pulse.projection_checkpoints c
set last_error = %(error)s,
    last_error_at = now(),
    last_error_event_id = case when %(single_event)s then (
      select e.event_id from pulse.events e
      where (e.xact_id, e.seq) > (c.xact_id, c.seq)
      order by e.xact_id, e.seq
      limit 1) end
where projection = %(projection)s;

-- name: timescaledb_version
-- The TimescaleDB version, when pulse.events is a hypertable.
select extversion from pg_extension where extname = 'timescaledb';

-- name: projection_statuses
-- The checkpoints named in %(projections)s in one statement (/v1/status: one
-- round trip and one plan, not three per projection; each plan of a hypertable
-- query opens every chunk), with, for those also in %(lag_for)s, the events
-- after them counted through the position index up to %(cap)s.
select c.projection, c.xact_id::text::bigint as xact_id, c.seq, c.batch_no, c.events_projected, c.updated_at,
       c.version, c.generation, c.last_error, c.last_error_at, c.last_error_event_id,
       -- A CASE, so that the count runs only for the checkpoints that want it.
       case when c.projection = any(%(lag_for)s)
            then (select count(*) from (select 1 from pulse.events e
                                        where (e.xact_id, e.seq) > (c.xact_id, c.seq)
                                        limit %(cap)s) as pending)
       end as lag
from pulse.projection_checkpoints c
where c.projection = any(%(projections)s);

-- name: log_totals
-- How many events are stored and how many inputs were quarantined, without
-- counting the log: exact up to %(cap)s events, beyond that the planner's
-- estimate (TimescaleDB's approximate_row_count on a hypertable).
with counted as (
  select count(*) as events from (select 1 from pulse.events limit %(cap)s) as e
)

select case when c.events < %(cap)s then c.events
            when exists (select 1 from pg_extension where extname = 'timescaledb')
              then greatest(c.events, approximate_row_count('pulse.events'))
            else greatest(c.events, (select reltuples::bigint from pg_class where oid = 'pulse.events'::regclass))
       end as events,
       c.events >= %(cap)s as events_estimated,
       -- Likewise exact up to the cap, then the planner's estimate: never a count of a large table.
       (select case when q.n < %(cap)s then q.n
                    else greatest(q.n, (select reltuples::bigint from pg_class where oid = 'pulse.quarantine'::regclass))
               end
        from (select count(*) as n from (select 1 from pulse.quarantine limit %(cap)s) as l) as q) as quarantined,
       exists (select 1 from pg_extension where extname = 'timescaledb') as timescaledb
from counted c;

-- name: retention_cutoff
-- Raw events before this time were dropped by pulse retention; NULL when none were.
select max(dropped_before) as dropped_before from pulse.retention_runs;

-- name: start_rebuild_checkpoint
-- A rebuild's checkpoint starts at the beginning of the log, numbering its
-- batches on from the live projection's so stream clients never go backwards.
insert into pulse.projection_checkpoints (projection, version, batch_no)
select %(rebuild)s, %(version)s, coalesce((select batch_no from pulse.projection_checkpoints
                                           where projection = %(projection)s), 0);

-- name: forget_checkpoint
-- Removes a checkpoint: a rebuild that starts over from the beginning of the log.
delete from pulse.projection_checkpoints where projection = %(projection)s;

-- name: lock_live_checkpoint
-- Waits for the live worker's batch in flight, then holds it off until the swap commits.
select batch_no from pulse.projection_checkpoints where projection = %(projection)s for update;

-- name: take_over_checkpoint
-- The rebuilt projection's position becomes the live one; the generation tells
-- live streams to start over from a snapshot.
with rebuilt as (
  delete from pulse.projection_checkpoints where projection = %(rebuild)s returning *
)
update pulse.projection_checkpoints c
set xact_id = r.xact_id,
    seq = r.seq,
    batch_no = greatest(c.batch_no, r.batch_no),
    events_projected = r.events_projected,
    version = r.version,
    generation = c.generation + 1,
    updated_at = now(),
    last_error = null,
    last_error_at = null,
    last_error_event_id = null
from rebuilt r
where c.projection = %(projection)s;

-- name: store_settings
-- Writes PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY where the views read them;
-- the table's trigger validates them and rebuilds the calendar on a new zone.
update analytics.settings
set timezone = %(timezone)s, reporting_currency = %(reporting_currency)s
where (timezone, reporting_currency) is distinct from (%(timezone)s, %(reporting_currency)s);

-- name: load_fx_rate
-- Loads or corrects one exchange rate. A bare date means the start of that day
-- in the business time zone.
insert into analytics.fx_rates as r (currency, to_currency, valid_from, rate)
select %(currency)s,
       coalesce(%(to_currency)s, s.reporting_currency),
       coalesce(%(valid_from)s::timestamptz, %(valid_on)s::date::timestamp at time zone s.timezone),
       %(rate)s
from analytics.settings s
on conflict (currency, to_currency, valid_from) do update
set rate = excluded.rate, loaded_at = now()
returning (xmax = 0) as inserted;

-- name: lock_events_for_retention
-- Waits for every writing transaction and holds new ones off until the chunks
-- are dropped: no event can land in a chunk after its cutoff was computed.
lock table pulse.events in share mode;

-- name: retention_cutoff_for
-- Raw events older than keep may go, but never one a projection has not applied.
select least(now() - %(keep)s::interval, min(pending.occurred_at)) as cutoff
from unnest(%(projections)s::text[]) as p (name)
left join pulse.projection_checkpoints c on c.projection = p.name
left join lateral (
  select min(e.occurred_at) as occurred_at
  from pulse.events e
  where (e.xact_id, e.seq) > (coalesce(c.xact_id, '0'), coalesce(c.seq, 0))
) as pending on true;

-- name: drop_chunks
select count(*) as chunks from drop_chunks('pulse.events', older_than => %(cutoff)s::timestamptz);

-- name: record_retention
insert into pulse.retention_runs (keep, dropped_before, chunks_dropped)
values (%(keep)s::interval, %(cutoff)s, %(chunks)s);

-- name: fx_rates_loaded
select exists (select 1 from analytics.fx_rates) as loaded;

-- name: analytics_grants
-- GRANT statements that restore who may read the analytics views: a replay
-- drops and re-creates the views, and their privileges with them.
select format('grant %s on analytics.%I to %s', a.privilege_type, c.relname,
              case when a.grantee = 0 then 'public' else a.grantee::regrole::text end) as statement
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(c.relacl) as a
where n.nspname = 'analytics' and c.relkind = 'v' and a.grantee <> c.relowner;

-- name: take_replay_locks
-- One replay per projection at a time, and none while pulse retention runs:
-- both are session locks, released when the replay's connection closes.
select pg_try_advisory_lock(hashtext('pulse.replay.' || %(projection)s)) as replay_free,
       pg_try_advisory_lock_shared(hashtext('pulse.retention')) as retention_free;

-- name: take_retention_lock
-- Retention waits for no replay: it fails fast while one reads the whole log.
select pg_try_advisory_xact_lock(hashtext('pulse.retention')) as free;

-- name: rebuild_in_progress
-- A rebuild of this version left by an interrupted replay, to resume.
select exists (
  select 1 from pulse.projection_checkpoints
  where projection = %(rebuild)s and version = %(version)s
) and to_regnamespace(%(schema)s) is not null as resumable;

-- name: views_a_swap_would_drop
-- Views that depend, directly or through other views, on a projection's
-- tables, and that a swap would drop without re-creating: someone else's.
with recursive dropped (oid) as (
  select c.oid from pg_class c where c.relnamespace = to_regnamespace(%(schema)s)::oid
  union
  select r.ev_class
  from dropped d
  join pg_depend dep on dep.refobjid = d.oid and dep.refclassid = 'pg_class'::regclass
                    and dep.classid = 'pg_rewrite'::regclass
  join pg_rewrite r on r.oid = dep.objid
  where r.ev_class <> d.oid
)
select format('%%I.%%I', n.nspname, c.relname) as name
from dropped d
join pg_class c on c.oid = d.oid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname <> %(schema)s and format('%%I.%%I', n.nspname, c.relname) <> all(%(ours)s::text[])
order by 1;

-- name: create_token
insert into pulse.api_tokens (token_id, name, scopes, secret_hash)
values (%(token_id)s, %(name)s, %(scopes)s, %(secret_hash)s);

-- name: list_tokens
select token_id, name, scopes, created_at, revoked_at from pulse.api_tokens order by created_at, token_id;

-- name: revoke_token
-- Revokes a live token by id or by the start of its id; answers what it revoked.
update pulse.api_tokens
set revoked_at = now()
where revoked_at is null and token_id::text like %(prefix)s || '%%'
returning token_id, name;

-- name: token_scopes
select pulse.token_scopes(%(token_id)s, %(secret_hash)s) as scopes;

-- name: token_still_valid
select pulse.token_still_valid(%(token_id)s) as scopes;

-- name: ticket_key
select pulse.ticket_key_value() as key;

-- name: prepare_rebuild_schema
-- An empty pulse_<name>_rebuild, owned like the live schema.
select pulse.prepare_rebuild_schema(%(schema)s);

-- name: swap_rebuild_schema
-- The rebuild becomes the live schema; the views over the old one are dropped with it.
select pulse.swap_rebuild_schema(%(schema)s);
