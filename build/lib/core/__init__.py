"""The lower layer: SQL by name, settings, connections and the listener, log positions, the event registry, migrate.

It imports nothing else of Booking Pulse; projections/ and app/ build on it.
"""
