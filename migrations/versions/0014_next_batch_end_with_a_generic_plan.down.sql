-- Revision 0014 undone: pulse.next_batch_end as revision 0011 made it (a SQL function, planned at every call).
-- The last position of a projection's next batch, and its size: at most
-- batch_size events after the position (after_xact_id, after_seq), all below
-- the horizon. Sorting is off for this function alone: the planner then reads
-- the position index of every chunk in order, merged, and stops after
-- batch_size positions, instead of sorting every position above the checkpoint
-- (the rest of the log) in each batch. max() rather than an ordered array_agg:
-- no sort of the batch either.
-- Parameters by position, so that the body can be explained as a prepared
-- statement: $1 after_xact_id, $2 after_seq, $3 horizon, $4 batch_size.
create or replace function pulse.next_batch_end(after_xact_id xid8, after_seq bigint, horizon xid8, batch_size integer)
returns table (events bigint, end_xact_id bigint, end_seq bigint)
language sql stable
set enable_sort = off
as $$
with batch as materialized (
  select e.xact_id, e.seq
  from pulse.events e
  where (e.xact_id, e.seq) > ($1, $2)
    and e.xact_id < $3
  order by e.xact_id, e.seq
  limit $4
),

last_xact as (
  select max(b.xact_id) as xact_id, count(*) as events from batch b
)

select l.events,
       l.xact_id::text::bigint,
       (select max(b.seq) from batch b where b.xact_id = l.xact_id)
from last_xact l
$$;
comment on function pulse.next_batch_end(xid8, bigint, xid8, integer) is 'The size and last position of a projection''s next batch after a position, below the horizon.';
