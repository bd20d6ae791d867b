-- Every data-quality check result, so that their history is queryable.
create table analytics.dq_results (
  run_at    timestamptz not null,
  "check"   text        not null,
  status    text        not null check (status in ('pass', 'fail', 'skipped')),
  observed  numeric,
  threshold numeric,
  details   jsonb       not null default '{}',
  primary key (run_at, "check")
);
create index dq_results_check on analytics.dq_results ("check", run_at desc);
comment on table analytics.dq_results is 'Every data-quality check result: pulse dq check and the server''s schedule write here.';
comment on column analytics.dq_results.run_at is 'When the run started; one run writes all its checks with the same run_at.';
comment on column analytics.dq_results."check" is 'The check (analytics.dq_checks), name:item for per-item checks.';
comment on column analytics.dq_results.status is 'pass, fail, or skipped (nothing to check, e.g. no traffic yet).';
comment on column analytics.dq_results.observed is 'What the check measured, in the unit of its threshold.';
comment on column analytics.dq_results.threshold is 'The threshold in force for this run.';
comment on column analytics.dq_results.details is 'More about the result, as JSON.';
