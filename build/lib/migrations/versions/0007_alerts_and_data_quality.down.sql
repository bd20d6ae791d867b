-- Revision 0007 undone (the triggers go with their table).
drop table pulse.webhook_attempts;
drop table pulse.webhook_cursor;
drop table analytics.dq_results;
drop table analytics.dq_checks;
drop table pulse.alert_changes;
drop table analytics.alerts;
drop table analytics.alert_rules;
drop function pulse.record_alert_change;
