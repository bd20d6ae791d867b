-- Each change of an alert, in commit order, for the stream and the webhooks.
create trigger alerts_record_changes
  after insert or update on analytics.alerts
  for each row execute function pulse.record_alert_change();
