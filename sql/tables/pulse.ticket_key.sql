-- The key that signs the short-lived tickets browsers use instead of a token
-- (EventSource cannot send headers). One row, random, made when the table is;
-- every server process signs and checks with the same key.
create table pulse.ticket_key (
  only_row boolean primary key default true check (only_row),
  key      bytea   not null default uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
);
comment on table pulse.ticket_key is 'The key signing dashboard tickets (two random UUIDs: 244 random bits); replace the row to end every ticket within a minute.';
insert into pulse.ticket_key default values;
