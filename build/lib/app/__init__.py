"""Booking Pulse: real-time booking analytics on PostgreSQL."""
