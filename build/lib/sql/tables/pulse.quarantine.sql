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
