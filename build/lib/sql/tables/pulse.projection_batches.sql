-- The recent batches of each projection, written in the batch's own
-- transaction: which log position each batch number ends at, how many events it
-- applied and when it committed. The stream maps a client's last position to
-- the batches it missed with it; the newest day of batches is kept.
create table pulse.projection_batches (
  projection   text        not null,
  batch_no     bigint      not null,
  end_xact_id  xid8        not null,
  end_seq      bigint      not null,
  events       integer     not null,
  committed_at timestamptz not null default clock_timestamp(),
  primary key (projection, batch_no)
);
comment on table pulse.projection_batches is 'Recent projection batches: the log position each ends at, its size and when it committed; about a day of them is kept.';
