"""Projections: workers that fold the event log into analytics rollups."""

from projections.bookings_hourly import BOOKINGS_HOURLY
from projections.projection import Projection

ALL_PROJECTIONS: tuple[Projection, ...] = (BOOKINGS_HOURLY,)

__all__ = ["ALL_PROJECTIONS", "Projection"]
