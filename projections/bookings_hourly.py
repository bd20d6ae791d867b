"""analytics.bookings_hourly: booking.created per UTC hour, destination, type and currency."""

from app.sql import query
from projections.projection import Projection

BOOKINGS_HOURLY = Projection(
    name="bookings_hourly",
    version=1,
    statements=(query("project_bookings_hourly"),),
)
