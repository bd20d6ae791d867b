"""The schema and the queries as SQL files, shipped as package data and read by core.sql."""
