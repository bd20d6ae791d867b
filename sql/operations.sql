-- Queries of the server's health endpoints (app/operations.py).

-- name: applied_revision
-- The schema revision the database is at.
select version_num from alembic_version;

-- name: failing_projections
-- Projections stopped at an event they cannot apply.
select projection from pulse.projection_checkpoints where last_error is not null order by 1;
