-- The scopes of a token a ticket was issued for, while the token is not revoked.
create or replace function pulse.token_still_valid(token_id uuid)
returns text[]
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select t.scopes from pulse.api_tokens t where t.token_id = token_still_valid.token_id and t.revoked_at is null
$$;
comment on function pulse.token_still_valid(uuid) is 'Scopes of a token that is not revoked, by id alone: for tickets the server signed.';
