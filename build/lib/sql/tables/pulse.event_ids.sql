-- A unique index on a hypertable must include its time column, so event_id
-- uniqueness across all time lives in this plain table instead.
create table pulse.event_ids (
  event_id uuid primary key
);
comment on table pulse.event_ids is 'Every event_id ever accepted; makes ingest idempotent across all time, even after retention drops old events.';
