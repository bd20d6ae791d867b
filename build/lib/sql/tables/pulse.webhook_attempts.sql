-- Every attempt to POST an alert change to a webhook (the job queue retries failures with backoff).
create table pulse.webhook_attempts (
  job_id      bigint      not null,
  change_seq  bigint      not null,
  url         text        not null,
  attempt     integer     not null,
  at          timestamptz not null default now(),
  status_code integer,
  error       text,
  duration_ms integer     not null,
  primary key (job_id, attempt)
);
create index webhook_attempts_change on pulse.webhook_attempts (change_seq);
comment on table pulse.webhook_attempts is 'Every POST of an alert change to a webhook: the job, its attempt number, the answer or the error.';
