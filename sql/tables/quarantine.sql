create table pulse.quarantine (
  quarantine_id bigint      generated always as identity primary key,
  received_at   timestamptz not null default now(),
  content_type  text,
  raw           bytea       not null,
  reasons       jsonb       not null
);
comment on table pulse.quarantine is 'Everything sent to POST /v1/events that was not accepted, byte for byte, with every reason.';
comment on column pulse.quarantine.raw is 'The rejected event (or whole body when it could not be parsed), as received.';
comment on column pulse.quarantine.reasons is 'A JSON array of {"field", "message"} objects.';
