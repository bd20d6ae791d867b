create table pulse.retention_runs (
  ran_at         timestamptz not null default now(),
  keep           interval    not null,
  dropped_before timestamptz not null,
  chunks_dropped integer     not null
);
comment on table pulse.retention_runs is 'Each pulse retention run: raw events before dropped_before were dropped; rollups kept everything.';
