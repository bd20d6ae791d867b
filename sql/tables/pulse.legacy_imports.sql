-- Where `pulse import` stands per legacy table: its watermark and running
-- totals. Written in the same transaction as each batch's events, so an import
-- killed at any point resumes from its last committed batch.
create table pulse.legacy_imports (
  source           text        not null,
  legacy_table     text        not null,
  watermark_column text        not null,
  watermark        text,
  rows_read        bigint      not null default 0,
  events_appended  bigint      not null default 0,
  quarantined      bigint      not null default 0,
  duplicates       bigint      not null default 0,
  started_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  polled_at        timestamptz,
  -- Names the source and table in pulse.legacy_rows: a narrow key for its rows.
  id               integer     generated always as identity unique,
  primary key (source, legacy_table)
);
comment on table pulse.legacy_imports is 'pulse import: per legacy source and table, the watermark of the last committed batch and running totals.';
comment on column pulse.legacy_imports.source is 'The source name of the mapping file: part of every event id the import derives.';
comment on column pulse.legacy_imports.watermark_column is 'The legacy column the watermark follows (updated_at or the key).';
comment on column pulse.legacy_imports.watermark is 'Highest value of the watermark column committed, as MySQL returned it; the next run reads from it minus the overlap.';
comment on column pulse.legacy_imports.polled_at is 'When the last pass (or --follow poll) finished reading the table.';
comment on column pulse.legacy_imports.id is 'The import_id of this source and table''s rows in pulse.legacy_rows.';
