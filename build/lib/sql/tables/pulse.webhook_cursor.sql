-- How far alert changes have been handed to the job queue for webhook delivery.
create table pulse.webhook_cursor (
  only_row boolean primary key default true check (only_row),
  seq      bigint  not null
);
comment on table pulse.webhook_cursor is 'The last pulse.alert_changes seq queued for webhook delivery.';
insert into pulse.webhook_cursor (seq) values (0);
