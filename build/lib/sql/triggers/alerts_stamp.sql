-- Acknowledgement and resolution times, and no reopening of a resolved alert.
create trigger alerts_stamp
  before insert or update on analytics.alerts
  for each row execute function pulse.record_alert_change();
