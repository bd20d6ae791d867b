-- Revision 0006 undone.
drop schema if exists pulse_signals, pulse_signals_rebuild cascade;
