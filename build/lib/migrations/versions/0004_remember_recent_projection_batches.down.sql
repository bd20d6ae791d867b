-- Revision 0004 undone.
drop table pulse.projection_batches;
