"""Projections: workers that fold the event log into analytics rollups.

Each runs on its own, with its own checkpoint: a failure in one stops only it.
"""

from projections.projection import Projection

# bookings: booking histories, booking state and the hourly bookings rollup.
BOOKINGS = Projection(name="bookings", version=1)
# conversion: searches, checkouts and bookings per hour and destination.
CONVERSION = Projection(name="conversion", version=1)
# customers: per customer activity and the legacy customer figures.
CUSTOMERS = Projection(name="customers", version=1)

ALL_PROJECTIONS: tuple[Projection, ...] = (BOOKINGS, CONVERSION, CUSTOMERS)


def projection_named(name: str) -> Projection:
    for projection in ALL_PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in ALL_PROJECTIONS)
    raise LookupError(f"no projection named {name!r}; there are: {known}")


__all__ = ["ALL_PROJECTIONS", "BOOKINGS", "CONVERSION", "CUSTOMERS", "Projection", "projection_named"]
