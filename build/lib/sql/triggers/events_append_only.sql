create trigger events_append_only
  before update or delete on pulse.events
  for each row execute function pulse.refuse_event_changes();
