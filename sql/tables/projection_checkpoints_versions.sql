-- Projections carry a version: a checkpoint written by another version is rebuilt.
alter table pulse.projection_checkpoints
  add column version integer not null default 0,
  -- Bumped when a replay swaps in rebuilt tables: live streams start over from a snapshot.
  add column generation integer not null default 0,
  -- The event a failing projection is stuck at, once it has narrowed the failure down to one.
  add column last_error_event_id uuid;
