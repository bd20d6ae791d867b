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
