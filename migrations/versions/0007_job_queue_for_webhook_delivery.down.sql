-- Revision 0007 undone.
drop schema procrastinate cascade;
