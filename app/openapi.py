"""GET /v1/openapi.json: every endpoint, and the stream's topics with their message shapes.

The message models below describe what app/metrics.py sends; the tests check
real snapshots and stream messages against them, so the description cannot
drift from what clients receive.
"""

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.metrics import ALL_TOPICS

Money = str | None


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppliedFilters(_Message):
    destination: str | None
    booking_type: str | None


class Figure(_Message):
    value: float | int | str | None = Field(description="Today so far; money as an exact decimal string.")
    week_ago: float | int | str | None = Field(description="The same part of the day a week earlier.")
    change: float | None = Field(description="(value - week_ago) / week_ago; null when week_ago is 0 or unknown.")


class KpiFigures(_Message):
    bookings: Figure
    revenue: Figure
    avg_booking_value: Figure
    conversion_rate: Figure
    cancellations: Figure


class KpisMessage(_Message):
    """Topic `kpis`: today's figures against the same time a week earlier."""

    position: str
    as_of: str
    day: str
    timezone: str
    currency: str
    metrics: KpiFigures
    missing_rates: list[str]
    filters: AppliedFilters


class HourlyPoint(_Message):
    hour: str
    bookings: int
    revenue: Money


class HourlyMessage(_Message):
    """Topic `hourly`: bookings and revenue per hour, every hour present (a quiet hour is zero)."""

    position: str
    currency: str
    timezone: str
    from_: str = Field(alias="from")
    to: str
    points: list[HourlyPoint]
    restated: list[str] = Field(description="Past hours that changed since this client's previous hourly message.")
    missing_rates: list[str]
    filters: AppliedFilters


class DestinationRow(_Message):
    destination: str
    bookings: int
    revenue: Money


class TopDestinationsMessage(_Message):
    """Topic `top_destinations`: today's ten destinations by revenue, then bookings."""

    position: str
    currency: str
    period: str
    rows: list[DestinationRow]
    missing_rates: list[str]
    filters: AppliedFilters


class BookingTypeRow(_Message):
    booking_type: str
    bookings: int
    revenue: Money


class BookingTypesMessage(_Message):
    """Topic `booking_types`: today's bookings and revenue per booking type."""

    position: str
    currency: str
    period: str
    rows: list[BookingTypeRow]
    missing_rates: list[str]
    filters: AppliedFilters


class FunnelMessage(_Message):
    """Topic `funnel`: today's searches, checkouts and bookings (per destination; no booking type)."""

    position: str
    period: str
    searches: int
    checkouts: int
    bookings: int
    filters: AppliedFilters


class Dimensions(_Message):
    destinations: list[str]
    booking_types: list[str]


class ForecastPoint(_Message):
    day: str = Field(description="A business day (YYYY-MM-DD) forecast.")
    forecast: float = Field(description="Expected bookings that day.")
    lo80: float
    hi80: float
    lo95: float
    hi95: float


class ActualPoint(_Message):
    day: str
    value: int = Field(description="Bookings created that business day.")


class ForecastMessage(_Message):
    """GET /v1/forecast: bookings per business day, the latest forecast with 80 % and 95 % intervals, and the
    actual bookings of the 60 days before it (up to yesterday)."""

    series: str = Field(description="bookings/total, bookings/destination/NAME or bookings/booking_type/NAME.")
    model: str | None = Field(description="The model behind the numbers (analytics.forecast_series.model).")
    generated_at: str
    points: list[ForecastPoint]
    actual: list[ActualPoint]
    note: str | None = Field(description="Why the forecast is not simply a fitted model's (too short, reconciled).")


TOPIC_MESSAGES: dict[str, type[_Message]] = {
    "kpis": KpisMessage,
    "hourly": HourlyMessage,
    "top_destinations": TopDestinationsMessage,
    "booking_types": BookingTypesMessage,
    "funnel": FunnelMessage,
}

_ERROR = {
    "description": "What is wrong",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_UNAVAILABLE = {
    "description": "The database is not available; retry after Retry-After seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_FILTERS = [
    {"name": "destination", "in": "query", "schema": {"type": "string"}, "description": "Only this destination."},
    {"name": "booking_type", "in": "query", "schema": {"type": "string"}, "description": "Only this booking type."},
    {
        "name": "after",
        "in": "query",
        "schema": {"type": "string", "pattern": "^[0-9]+/[0-9]+$"},
        "description": "A position POST /v1/events answered: wait until the figures include it (504 after 10 s).",
    },
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _snapshot(model: str, summary: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [*_FILTERS, *(extra or [])],
            "responses": {
                "200": {"description": "The figures", "content": {"application/json": {"schema": _ref(model)}}},
                "400": _ERROR,
                "503": _UNAVAILABLE,
                "504": _ERROR,
            },
        }
    }


@cache
def openapi_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [*TOPIC_MESSAGES.values(), Dimensions, ForecastMessage]
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    schemas["Error"] = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
    schemas["Event"] = {"description": "One event; the full JSON Schema is at GET /v1/schema.", "type": "object"}
    topics = {
        topic: {"event": "alert" if topic == "alerts" else topic, "data": _ref(model.__name__)}
        for topic, model in TOPIC_MESSAGES.items()
    } | {"alerts": {"event": "alert", "data": {"type": "object", "description": "An alert: see docs/stream.md"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Booking Pulse",
            "version": "1",
            "description": "Real-time booking analytics: ingest events, read live figures. See docs/stream.md.",
        },
        "paths": {
            "/v1/events": {
                "post": {
                    "summary": "Append events: one object, a JSON array, or NDJSON",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"oneOf": [_ref("Event"), {"type": "array"}]}},
                            "application/x-ndjson": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {"description": "Every event accepted or a duplicate"},
                        "207": {"description": "Some events rejected (with reasons); the others stored"},
                        "400": _ERROR,
                        "413": _ERROR,
                        "415": _ERROR,
                        "422": {"description": "Every event rejected, with reasons"},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/v1/schema": {"get": {"summary": "The JSON Schema of events", "responses": {"200": {"description": ""}}}},
            "/v1/status": {
                "get": {
                    "summary": "Event counts and, per projection, its state, checkpoint and lag",
                    "parameters": [{"name": "position", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "The status"}, "400": _ERROR, "503": _UNAVAILABLE},
                }
            },
            "/v1/stream": {
                "get": {
                    "summary": "Live figures as server-sent events",
                    "description": (
                        "Each message has an id (starting with the log position its data is consistent with), an "
                        "event (its topic; alerts come as `alert`) and JSON data: the whole current state of the "
                        "topic for the filters. Reconnect with Last-Event-ID to resume. The message shape of each "
                        "topic is in x-topics."
                    ),
                    "parameters": [
                        {
                            "name": "topics",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": f"Comma-separated, of: {', '.join(ALL_TOPICS)} (default: all).",
                        },
                        *_FILTERS[:2],
                        {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "The stream", "content": {"text/event-stream": {}}},
                        "400": _ERROR,
                        "503": _UNAVAILABLE,
                    },
                    "x-topics": topics,
                }
            },
            "/v1/metrics/kpis": _snapshot("KpisMessage", "Today's KPIs against a week earlier"),
            "/v1/metrics/hourly": _snapshot(
                "HourlyMessage",
                "Bookings and revenue per hour (default: the last 48 hours)",
                [
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                ],
            ),
            "/v1/metrics/top-destinations": _snapshot("TopDestinationsMessage", "Today's top destinations"),
            "/v1/metrics/booking-types": _snapshot("BookingTypesMessage", "Today's booking-type mix"),
            "/v1/metrics/funnel": _snapshot("FunnelMessage", "Today's conversion funnel"),
            "/v1/metrics/dimensions": {
                "get": {
                    "summary": "Destinations and booking types of the last 90 days",
                    "responses": {
                        "200": {"description": "", "content": {"application/json": {"schema": _ref("Dimensions")}}},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/v1/forecast": {
                "get": {
                    "summary": "Bookings forecast per business day for the filters, and the actual series before it",
                    "description": (
                        "From the latest refresh (docs/forecasting.md): overall, per destination or per booking "
                        "type; a destination and a booking type together have no forecast (404)."
                    ),
                    "parameters": [
                        *_FILTERS[:2],
                        {
                            "name": "horizon",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 90, "default": 30},
                            "description": "Days forecast, from the first day of the latest refresh.",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The forecast",
                            "content": {"application/json": {"schema": _ref("ForecastMessage")}},
                        },
                        "400": _ERROR,
                        "404": {
                            "description": "No forecast for these filters (yet)",
                            "content": {"application/json": {"schema": _ref("Error")}},
                        },
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": ""}}}},
        },
        "components": {"schemas": schemas},
    }


async def get_openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())
