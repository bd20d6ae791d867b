"""Pipeline health over real HTTP: GET /metrics (Prometheus), /healthz and /readyz (docs/alerts.md)."""

import time
from typing import Any

import httpx2
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from core.db import LISTENER_APPLICATION_NAME
from projections import ALL_PROJECTIONS
from tests.support.alerting import open_alert
from tests.support.events import booking, make_event
from tests.support.processes import running_server, wait_for
from tests.support.sse import open_stream

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str) -> Samples:
    """GET /metrics, parsed by prometheus_client's own parser: every sample by name and labels."""
    response = httpx2.get(base + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"/metrics has no {name}{labels or ''}"
    return samples[key]


def test_metrics_parse_and_carry_every_listed_series(database_url: str, db: psycopg.Connection[Any]) -> None:
    with running_server(
        database_url, PULSE_POLL_INTERVAL="0.2", PULSE_DETECTOR_INTERVAL="0.5", PULSE_DQ_INTERVAL="0"
    ) as base:
        first, second = booking("Lisbon", currency="USD"), booking("Paris", currency="USD")
        bad = make_event("booking.created", total_amount="-5")
        posted = httpx2.post(base + "/v1/events", json=[first, second, bad], timeout=10)
        assert posted.status_code == 207
        assert httpx2.post(base + "/v1/events", json=[first], timeout=10).json()["duplicates"] == 1
        unreadable = httpx2.post(
            base + "/v1/events", content=b"{", headers={"Content-Type": "application/json"}, timeout=10
        )
        assert unreadable.status_code == 400
        after = httpx2.get(base + "/v1/metrics/kpis", params={"after": posted.json()["position"]}, timeout=15)
        assert after.status_code == 200
        for severity, subject in (("warning", "all"), ("critical", "destination=Lisbon"), ("critical", "all")):
            open_alert(
                db, "no_bookings" if subject == "all" and severity == "critical" else "revenue_drop", subject, severity
            )
        with psycopg.connect(database_url) as idle, open_stream(base, topics="kpis") as messages:
            idle.execute("select 1")  # a transaction left open: it holds the projections back
            opened = time.monotonic()
            next(messages)
            wait_for(lambda: value(scrape(base), "pulse_detector_seconds_count") >= 1)
            wait_for(
                lambda: all(
                    value(scrape(base), "pulse_projection_lag_events", projection=p.name) == 0 for p in ALL_PROJECTIONS
                )
            )
            samples = scrape(base)
            held_for = time.monotonic() - opened
        assert value(samples, "pulse_stream_clients") == 1
        assert value(samples, "pulse_stream_messages_sent") >= 1
        assert value(samples, "pulse_oldest_transaction_seconds") >= held_for - 0.5
        assert value(scrape(base), "pulse_stream_clients") == 0

        # The LISTEN connection dropped: the listener reconnects and says so.
        assert value(samples, "pulse_listen_connects") == 1
        db.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s",
            (LISTENER_APPLICATION_NAME,),
        )
        wait_for(lambda: value(scrape(base), "pulse_listen_connects") == 2, timeout=20)

    for outcome, count in (("accepted", 2), ("duplicate", 1), ("rejected", 1), ("quarantined", 2)):
        assert value(samples, "pulse_events_total", outcome=outcome) == count, outcome
    route = {"route": "/v1/events", "method": "POST"}
    assert value(samples, "pulse_request_seconds_count", **route) == 3
    assert value(samples, "pulse_request_seconds_bucket", le="+Inf", **route) == 3
    assert value(samples, "pulse_request_seconds_count", route="/v1/metrics/{name}", method="GET") >= 1
    for projection in ALL_PROJECTIONS:
        labels = {"projection": projection.name}
        assert value(samples, "pulse_projection_lag_events", **labels) == 0
        assert value(samples, "pulse_projection_lag_seconds", **labels) == 0
        # Every batch is observed: both bookings are in some batch of each projection that takes bookings.
        assert value(samples, "pulse_projection_batch_seconds_count", **labels) >= 1
        assert value(samples, "pulse_projection_batch_events_count", **labels) >= 1
        assert value(samples, "pulse_projection_batch_events_sum", **labels) >= 2
        assert value(samples, "pulse_projection_batch_seconds_sum", **labels) > 0
    assert {s: value(samples, "pulse_alerts_open", severity=s) for s in ("info", "warning", "critical")} == {
        "info": 0,
        "warning": 1,
        "critical": 2,
    }
    assert value(samples, "pulse_detector_seconds_count") >= 1


def test_metrics_show_the_lag_while_a_projection_is_behind(database_url: str, db: psycopg.Connection[Any]) -> None:
    # A stand-in for a bug: the conversion projection cannot take one destination.
    db.execute("alter table pulse_conversion.hourly add constraint no_poison check (destination <> 'Poison')")
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2", PULSE_DETECTOR_INTERVAL="0") as base:
        events = [make_event("search.performed", destination="Poison"), booking("Lisbon", currency="USD")]
        assert httpx2.post(base + "/v1/events", json=events, timeout=10).status_code == 200
        samples = wait_for(
            lambda: (
                (s := scrape(base))
                and value(s, "pulse_projection_lag_events", projection="bookings") == 0
                and value(s, "pulse_projection_lag_events", projection="conversion") == 2
                and s
            )
        )
        assert value(samples, "pulse_projection_lag_seconds", projection="conversion") >= 0
        later = wait_for(
            lambda: (s := scrape(base)) and value(s, "pulse_projection_lag_seconds", projection="conversion") > 1 and s
        )
        assert value(later, "pulse_projection_lag_seconds", projection="bookings") == 0


def test_healthz_and_readyz_answer_without_reading_the_log_and_readyz_names_each_problem(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2", PULSE_DETECTOR_INTERVAL="0") as base:
        healthz = httpx2.get(base + "/healthz", timeout=5)
        assert (healthz.status_code, healthz.text) == (200, "ok")
        ready = httpx2.get(base + "/readyz", timeout=5)
        assert (ready.status_code, ready.json()) == (200, {"ready": True, "problems": []})

        # Cheap: with the event log locked against every reader, both still answer at once.
        with psycopg.connect(database_url) as locker:
            locker.execute("lock table pulse.events in access exclusive mode")
            assert httpx2.get(base + "/healthz", timeout=2).status_code == 200
            assert httpx2.get(base + "/readyz", timeout=2).status_code == 200
            locker.rollback()

        # A failing projection: 503 naming it, 200 again once it is fixed.
        db.execute("alter table pulse_conversion.hourly add constraint no_poison check (destination <> 'Poison')")
        poison = make_event("search.performed", destination="Poison")
        assert httpx2.post(base + "/v1/events", json=[poison], timeout=10).status_code == 200
        failing = wait_for(lambda: (r := httpx2.get(base + "/readyz", timeout=5)).status_code == 503 and r)
        assert failing.json() == {"ready": False, "problems": ["projection conversion is failing"]}
        assert httpx2.get(base + "/healthz", timeout=5).status_code == 200
        db.execute("alter table pulse_conversion.hourly drop constraint no_poison")
        wait_for(lambda: httpx2.get(base + "/readyz", timeout=5).status_code == 200, timeout=40)

        # Migrations behind the code: 503 saying so.
        (head,) = db.execute("select version_num from alembic_version").fetchone() or ("",)
        db.execute("update alembic_version set version_num = '0008'")
        behind = httpx2.get(base + "/readyz", timeout=5)
        assert behind.status_code == 503
        (problem,) = behind.json()["problems"]
        assert problem.startswith(f"migrations at 0008, head is {head}")
        db.execute("update alembic_version set version_num = %s", (head,))
        assert httpx2.get(base + "/readyz", timeout=5).status_code == 200
