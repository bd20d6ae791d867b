-- Revision 0001, frozen: the SQL this revision applies, as it was written.
-- Never edit it; change the schema in a new revision.

-- schemas/extensions.sql
-- TimescaleDB makes pulse.events a hypertable. Where the extension is not
-- installed or not preloaded, Booking Pulse runs on plain PostgreSQL and says so.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'timescaledb')
     and current_setting('shared_preload_libraries') like '%timescaledb%' then
    create extension if not exists timescaledb;
  else
    raise notice 'TimescaleDB is not available: pulse.events is a plain table with a BRIN index';
  end if;
end
$$;

-- schemas/pulse.sql
create schema if not exists pulse;
comment on schema pulse is 'Booking Pulse internals: the event log, quarantine, projection checkpoints and rollup tables. Analysts query schema analytics instead.';

-- schemas/analytics.sql
create schema if not exists analytics;
comment on schema analytics is 'Booking Pulse analytics: live views over the projections, exact up to the last projected event.';

-- tables/events.sql
-- The event log. Append-only; a trigger refuses UPDATE and DELETE.
-- Readers follow (xact_id, seq), reading only below the oldest running writer's
-- transaction id, so an event whose transaction commits late is never skipped.
create table pulse.events (
  event_id    uuid        not null,
  type        text        not null,
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  data        jsonb       not null,
  xact_id     xid8        not null default pg_current_xact_id(),
  seq         bigint      not null generated always as identity
);

comment on table pulse.events is 'Every accepted event, append-only. The log position is (xact_id, seq).';
comment on column pulse.events.event_id is 'Sender-chosen idempotency key, unique across all time (enforced by pulse.event_ids).';
comment on column pulse.events.occurred_at is 'Event time, as the sender reported it.';
comment on column pulse.events.received_at is 'When Booking Pulse stored the event.';
comment on column pulse.events.xact_id is 'Id of the transaction that wrote the event; first part of the log position.';
comment on column pulse.events.seq is 'Insertion sequence; second part of the log position.';

do $$
begin
  if exists (select 1 from pg_extension where extname = 'timescaledb') then
    perform create_hypertable('pulse.events', by_range('occurred_at', interval '7 days'));
  else
    create index events_occurred_at_brin on pulse.events using brin (occurred_at);
  end if;
end
$$;

-- The projection readers' cursor.
create index events_position on pulse.events (xact_id, seq);

-- tables/event_ids.sql
-- A unique index on a hypertable must include its time column, so event_id
-- uniqueness across all time lives in this plain table instead.
create table pulse.event_ids (
  event_id uuid primary key
);
comment on table pulse.event_ids is 'Every event_id ever accepted; makes ingest idempotent across all time, even after retention drops old events.';

-- tables/quarantine.sql
create table pulse.quarantine (
  quarantine_id bigint      generated always as identity primary key,
  received_at   timestamptz not null default now(),
  content_type  text,
  raw           bytea       not null,
  reasons       jsonb       not null
);
comment on table pulse.quarantine is 'Everything sent to POST /v1/events that was not accepted, with every reason.';
comment on column pulse.quarantine.raw is 'What was rejected: an NDJSON line or an unreadable body byte for byte; an element of a JSON array re-serialized as JSON.';
comment on column pulse.quarantine.reasons is 'A JSON array of {"field", "message"} objects.';

-- tables/projection_checkpoints.sql
-- A projection's position in the log, written in the same transaction as its rows.
create table pulse.projection_checkpoints (
  projection        text        primary key,
  xact_id           xid8        not null default '0',
  seq               bigint      not null default 0,
  batch_no          bigint      not null default 0,
  events_projected  bigint      not null default 0,
  updated_at        timestamptz not null default now(),
  last_error        text,
  last_error_at     timestamptz
);
comment on table pulse.projection_checkpoints is 'Per projection: the last log position it has applied, and its last error.';

-- history/0001/bookings_hourly_rollup.sql
create table pulse.bookings_hourly_rollup (
  bucket           timestamptz not null,
  destination      text        not null,
  booking_type     text        not null,
  currency         char(3)     not null,
  bookings         bigint      not null,
  gross_revenue    numeric     not null,
  changed_in_batch bigint      not null,
  primary key (bucket, destination, booking_type, currency)
);
comment on table pulse.bookings_hourly_rollup is 'Rollup of booking.created by UTC hour; maintained by the bookings_hourly projection.';

-- The live stream reads the rows each projection batch changed.
create index bookings_hourly_rollup_changed on pulse.bookings_hourly_rollup (changed_in_batch);

-- functions/refuse_event_changes.sql
create or replace function pulse.refuse_event_changes() returns trigger
language plpgsql as $$
begin
  raise exception 'pulse.events is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'Correct an event by appending a new one.';
end
$$;

-- triggers/events_append_only.sql
create trigger events_append_only
  before update or delete on pulse.events
  for each row execute function pulse.refuse_event_changes();

-- history/0001/analytics.bookings_hourly.sql
create or replace view analytics.bookings_hourly as
with rollup as (
  select * from pulse.bookings_hourly_rollup
),

final as (
  select
    bucket,
    destination,
    booking_type,
    currency,
    bookings,
    gross_revenue,
    round(gross_revenue / nullif(bookings, 0), 2) as avg_booking_value
  from rollup
)

select * from final;

comment on view analytics.bookings_hourly is 'Bookings created per UTC hour, destination, booking type and currency. Live: exact up to the projection checkpoint (see GET /v1/status).';
comment on column analytics.bookings_hourly.bucket is 'Start of the UTC hour of the booking''s occurred_at.';
comment on column analytics.bookings_hourly.destination is 'Destination as sent in booking.created.';
comment on column analytics.bookings_hourly.booking_type is 'Booking type as sent in booking.created (flight, hotel, package, ...).';
comment on column analytics.bookings_hourly.currency is 'ISO 4217 code; amounts are never converted here.';
comment on column analytics.bookings_hourly.bookings is 'Count of booking.created events.';
comment on column analytics.bookings_hourly.gross_revenue is 'Sum of total_amount of those bookings, exact.';
comment on column analytics.bookings_hourly.avg_booking_value is 'gross_revenue / bookings, rounded to 2 places.';
