-- Revision 0008 undone.
drop schema procrastinate cascade;
