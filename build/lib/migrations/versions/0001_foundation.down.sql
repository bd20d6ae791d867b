-- Revision 0001 undone. Extensions stay: they are database-wide and may serve others.
drop schema analytics cascade;
drop schema pulse cascade;
