-- Revision 0003 undone.
drop function pulse.append_events(uuid[], text[], timestamptz[], jsonb[]);
