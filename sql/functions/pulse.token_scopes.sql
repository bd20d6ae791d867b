-- What a token may do: its scopes, or NULL when no live token has this id and
-- secret. Runs as its owner, so the application's roles need no access to
-- pulse.api_tokens itself.
create or replace function pulse.token_scopes(token_id uuid, secret_hash bytea)
returns text[]
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select t.scopes
  from pulse.api_tokens t
  where t.token_id = token_scopes.token_id
    and t.secret_hash = token_scopes.secret_hash
    and t.revoked_at is null
$$;
comment on function pulse.token_scopes(uuid, bytea) is 'Scopes of a live token, given its id and the SHA-256 hash of its secret; NULL otherwise.';
