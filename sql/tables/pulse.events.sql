-- The event log. Append-only; a trigger refuses UPDATE and DELETE.
-- Readers follow (xact_id, seq), reading only below the oldest running writer's
-- transaction id, so an event whose transaction commits late is never skipped.
create table pulse.events (
  event_id    uuid        not null,
  type        text        not null,
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  data        jsonb       not null,
  xact_id     xid8        not null default pg_current_xact_id(),
  seq         bigint      not null generated always as identity,
  holds_booking boolean
);

comment on table pulse.events is 'Every accepted event, append-only. The log position is (xact_id, seq).';
comment on column pulse.events.event_id is 'Sender-chosen idempotency key, unique across all time (enforced by pulse.event_ids).';
comment on column pulse.events.occurred_at is 'Event time, as the sender reported it.';
comment on column pulse.events.received_at is 'When Booking Pulse stored the event.';
comment on column pulse.events.xact_id is 'Id of the transaction that wrote the event; first part of the log position.';
comment on column pulse.events.seq is 'Insertion sequence; second part of the log position.';
comment on column pulse.events.holds_booking is 'True for a booking.created stored by pulse.append_events, which stores only the creation that holds its booking_id. NULL otherwise: for a booking.created stored before revision 0002 or by a writer that bypasses the contract, pulse.booking_ids tells.';

do $$
begin
  if exists (select 1 from pg_extension where extname = 'timescaledb') then
    perform create_hypertable('pulse.events', by_range('occurred_at', interval '7 days'));
  else
    create index events_occurred_at_brin on pulse.events using brin (occurred_at);
  end if;
end
$$;

-- The projection readers' cursor.
create index events_position on pulse.events (xact_id, seq);
