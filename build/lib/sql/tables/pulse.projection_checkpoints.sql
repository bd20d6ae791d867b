-- A projection's position in the log, written in the same transaction as its rows.
create table pulse.projection_checkpoints (
  projection        text        primary key,
  xact_id           xid8        not null default '0',
  seq               bigint      not null default 0,
  batch_no          bigint      not null default 0,
  events_projected  bigint      not null default 0,
  updated_at        timestamptz not null default now(),
  last_error        text,
  last_error_at     timestamptz,
  -- The projection version that wrote it: a checkpoint of another version is rebuilt.
  version           integer     not null default 0,
  -- Bumped when a replay swaps in rebuilt tables: live streams start over from a snapshot.
  generation        integer     not null default 0,
  -- The event a failing projection is stuck at, once it has narrowed the failure down to one.
  last_error_event_id uuid
);
comment on table pulse.projection_checkpoints is 'Per projection: the last log position it has applied, and its last error.';
