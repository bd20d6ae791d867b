"""The JSON snapshots under /v1/metrics/ and the API description, against hand-computed figures."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import psycopg
import pytest
from starlette.testclient import TestClient

from app.openapi import TOPIC_MESSAGES, Dimensions, openapi_document
from core.settings import Settings
from tests.support.events import booking, make_event
from tests.support.pipeline import append, drain
from tests.support.processes import running_server
from tests.support.sse import open_stream

SNAPSHOTS = {
    "kpis": "kpis",
    "hourly": "hourly",
    "top-destinations": "top_destinations",
    "booking-types": "booking_types",
    "funnel": "funnel",
}


def now() -> datetime:
    return datetime.now(UTC)


def run(settings: Settings, events: list[dict[str, Any]]) -> None:
    asyncio.run(append(settings.database_url, events))
    asyncio.run(drain(settings, batch_size=5))


def test_kpis_compare_today_with_the_same_time_a_week_ago(
    settings: Settings, client: TestClient, db: psycopg.Connection[Any]
) -> None:
    db.execute("insert into analytics.fx_rates values ('EUR', 'USD', '2000-01-01', 2)")
    moment = now()
    hour = moment.replace(minute=0, second=0, microsecond=0)
    week_ago = hour - timedelta(days=7)
    elapsed = Decimal((moment - hour).total_seconds()) / 3600
    earlier_today = [hour - timedelta(hours=h) for h in range(1, min(hour.hour, 3) + 1)]
    events = [booking("Lisbon", amount="100.00", currency="EUR", occurred_at=at) for at in earlier_today]
    events += [booking("Tokyo", amount="10.00", currency="USD", occurred_at=moment - timedelta(seconds=1))]
    # A week ago: one booking each in an earlier hour, in this hour, and in a later hour of the day.
    events += [booking("Lisbon", amount="30.00", currency="USD", occurred_at=week_ago - timedelta(hours=1))]
    events += [booking("Lisbon", amount="40.00", currency="USD", occurred_at=week_ago + timedelta(minutes=1))]
    events += [booking("Lisbon", amount="50.00", currency="USD", occurred_at=week_ago + timedelta(hours=1, minutes=1))]
    events += [make_event("search.performed", moment - timedelta(seconds=2), destination="Tokyo") for _ in range(4)]
    cancelled = events[0]["data"]["booking_id"] if earlier_today else None
    if cancelled:
        events.append(make_event("booking.cancelled", moment - timedelta(seconds=1), booking_id=cancelled))
    run(settings, events)

    kpis = client.get("/v1/metrics/kpis").json()
    figures = kpis["metrics"]
    today_count = len(earlier_today) + 1
    assert figures["bookings"]["value"] == today_count
    assert figures["revenue"]["value"] == f"{Decimal(200) * len(earlier_today) + 10:.2f}"
    # A week ago counts the earlier hour of that day, and this hour pro rata: the minutes elapsed so far.
    earlier_hour_counts = hour.hour >= 1
    week_ago_bookings = Decimal(str(figures["bookings"]["week_ago"]))
    assert week_ago_bookings == pytest.approx(earlier_hour_counts + elapsed, abs=Decimal("0.11"))
    week_ago_revenue = Decimal(figures["revenue"]["week_ago"])
    assert week_ago_revenue == pytest.approx(30 * earlier_hour_counts + 40 * elapsed, abs=Decimal("0.5"))
    if week_ago_bookings:
        change = (today_count - week_ago_bookings) / week_ago_bookings
        assert figures["bookings"]["change"] == pytest.approx(float(change), abs=1e-4)
    assert figures["conversion_rate"]["value"] == pytest.approx(today_count / 4)
    assert figures["cancellations"]["value"] == (1 if cancelled else 0)
    assert kpis["currency"] == "USD" and kpis["missing_rates"] == []

    # Filters: only Tokyo, then only hotels (conversion has no booking type).
    tokyo = client.get("/v1/metrics/kpis", params={"destination": "Tokyo"}).json()["metrics"]
    assert tokyo["bookings"]["value"] == 1 and tokyo["conversion_rate"]["value"] == pytest.approx(0.25)
    hotels = client.get("/v1/metrics/kpis", params={"booking_type": "hotel"}).json()
    assert hotels["metrics"]["bookings"]["value"] == 0 and hotels["metrics"]["conversion_rate"]["value"] is None
    assert hotels["filters"] == {"destination": None, "booking_type": "hotel"}


def test_the_hourly_series_has_every_hour_and_zeros_for_quiet_ones(settings: Settings, client: TestClient) -> None:
    hour = now().replace(minute=0, second=0, microsecond=0)
    run(settings, [booking("Lisbon", amount="12.50", currency="USD", occurred_at=hour - timedelta(hours=3))])
    hourly = client.get("/v1/metrics/hourly").json()
    assert len(hourly["points"]) == 48 and hourly["restated"] == []
    by_hour = {point["hour"]: point for point in hourly["points"]}
    three_ago = (hour - timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    assert by_hour[three_ago] == {"hour": three_ago, "bookings": 1, "revenue": "12.50"}
    assert sum(p["bookings"] for p in hourly["points"]) == 1
    assert {p["revenue"] for p in hourly["points"] if p["hour"] != three_ago} == {"0.00"}

    ranged = client.get(
        "/v1/metrics/hourly",
        params={"from": (hour - timedelta(hours=5)).isoformat(), "to": (hour - timedelta(hours=1)).isoformat()},
    ).json()
    assert [p["bookings"] for p in ranged["points"]] == [0, 0, 1, 0]


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"from": "yesterday"}, "RFC 3339"),
        ({"from": "2026-11-20T00:00:00"}, "UTC offset"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "at most 31 days"),
        ({"after": "soon"}, "log position"),
        ({"region": "EU"}, "unknown parameters"),
    ],
)
def test_bad_snapshot_parameters_are_a_400_with_the_reason(
    params: dict[str, str], why: str, client: TestClient
) -> None:
    response = client.get("/v1/metrics/hourly", params=params)
    assert response.status_code == 400 and why in response.json()["error"]
    assert client.get("/v1/metrics/weather").status_code == 404


def test_a_snapshot_after_a_write_includes_it_or_says_it_timed_out(database_url: str) -> None:
    with running_server(database_url, PULSE_READ_YOUR_WRITES_TIMEOUT="1") as base:
        written = httpx2.post(base + "/v1/events", json=booking("Lisbon", currency="USD"), timeout=10).json()
        seen = httpx2.get(base + "/v1/metrics/kpis", params={"after": written["position"]}, timeout=10)
        assert seen.json()["metrics"]["bookings"]["value"] == 1
        future = httpx2.get(base + "/v1/metrics/funnel", params={"after": "99999999/1"}, timeout=10)
        assert future.status_code == 504 and "within 1 s" in future.json()["error"]


def test_snapshots_are_the_stream_messages_and_match_the_api_description(
    settings: Settings, database_url: str, db: psycopg.Connection[Any]
) -> None:
    events = [booking("Lisbon", currency="JPY", amount="12000"), booking("Tokyo", "hotel", currency="USD")]
    events += [make_event("checkout.started", destination="Tokyo", booking_type="hotel")]
    run(settings, events)
    with running_server(database_url) as base:
        with open_stream(base) as messages:
            first = {m.event: m.data for m in (next(messages) for _ in range(5))}
        for name, topic in SNAPSHOTS.items():
            snapshot = httpx2.get(f"{base}/v1/metrics/{name}", timeout=5).json()
            TOPIC_MESSAGES[topic].model_validate(snapshot)
            TOPIC_MESSAGES[topic].model_validate(first[topic])
            without_time = {k: v for k, v in snapshot.items() if k != "as_of"}
            assert without_time == {k: v for k, v in first[topic].items() if k != "as_of"}
        dimensions = httpx2.get(base + "/v1/metrics/dimensions", timeout=5).json()
        assert Dimensions.model_validate(dimensions).destinations == ["Lisbon", "Tokyo"]
        described = httpx2.get(base + "/v1/openapi.json", timeout=5).json()
    assert described == openapi_document()
    # No JPY rate: Lisbon's revenue cannot be converted, and says so.
    top = {row["destination"]: row for row in first["top_destinations"]["rows"]}
    assert top["Lisbon"]["revenue"] is None and first["top_destinations"]["missing_rates"] == ["JPY"]
    assert first["funnel"]["checkouts"] == 1
    paths = set(described["paths"])
    assert {"/v1/events", "/v1/stream", "/v1/metrics/kpis", "/v1/forecast", "/v1/openapi.json"} <= paths
    assert set(described["paths"]["/v1/stream"]["get"]["x-topics"]) == {*SNAPSHOTS.values(), "alerts"}
