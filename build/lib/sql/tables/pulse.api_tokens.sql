-- API tokens: who may call the API, with which scopes. Only a hash of each
-- token's secret is kept; `pulse token create` prints the token once.
create table pulse.api_tokens (
  token_id    uuid        primary key,
  name        text        not null,
  scopes      text[]      not null check (scopes <@ array['ingest', 'read', 'admin'] and cardinality(scopes) > 0),
  secret_hash bytea       not null,
  created_at  timestamptz not null default now(),
  revoked_at  timestamptz
);
comment on table pulse.api_tokens is 'API tokens: name, scopes (ingest, read, admin) and a SHA-256 hash of the secret; revoked tokens stay listed.';
