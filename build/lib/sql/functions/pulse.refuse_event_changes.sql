create or replace function pulse.refuse_event_changes() returns trigger
language plpgsql as $$
begin
  raise exception 'pulse.events is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'Correct an event by appending a new one.';
end
$$;
