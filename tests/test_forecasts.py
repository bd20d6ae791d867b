"""Demand forecasts and predicted customer value, wired in: refreshes, tables, views, GET /v1/forecast, schedule."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest
from starlette.testclient import TestClient

from app.forecasting import store
from app.fx import FxRate, load_rates
from app.openapi import ForecastMessage
from core.settings import Settings
from projections import BOOKINGS, CUSTOMERS
from tests.support.events import daily_bookings
from tests.support.pipeline import append, drain
from tests.support.processes import pulse, running_server, wait_for

CANDIDATE_NAMES = {"SeasonalNaive", "AutoETS", "AutoARIMA", "MSTL", "AutoTheta"}


def today() -> date:
    # The business time zone of the tests is UTC.
    return datetime.now(UTC).date()


def load(settings: Settings, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 1000):
        items = asyncio.run(append(settings.database_url, events[start : start + 1000]))
        assert all(item.status == "accepted" for item in items)
    asyncio.run(drain(settings, batch_size=5000, projections=(BOOKINGS, CUSTOMERS)))


def as_role(database_url: str, role: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(database_url, autocommit=True)
    conn.execute(f"set role {role}")  # a fixed name from the test
    return conn


@pytest.fixture
def projector(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the refreshes make theirs: the projector role, autocommit."""
    with as_role(database_url, "pulse_projector") as conn:
        yield conn


def frame(db: psycopg.Connection[Any], query: str) -> pd.DataFrame:
    cur = db.execute(query.encode())
    assert cur.description is not None
    return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def test_a_refresh_forecasts_every_level_reconciled_and_predicts_customers(
    db: psycopg.Connection[Any], settings: Settings, client: TestClient, database_url: str
) -> None:
    yesterday = today() - timedelta(days=1)
    # Two destinations with ten weeks of history, and a new one with ten days.
    events = daily_bookings(
        {("Lisbon", "flight"): 6, ("Lisbon", "hotel"): 3, ("Tokyo", "hotel"): 4}, days=70, last_day=yesterday
    )
    events += daily_bookings({("Oslo", "flight"): 2}, days=10, last_day=yesterday, seed=4)
    load(settings, events)
    assert client.get("/v1/forecast").status_code == 404  # nothing refreshed yet

    done = pulse(database_url, "forecast", "run", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    customers = len({e["data"]["customer_id"] for e in events})
    assert done.stdout.startswith("demand: 12 series up to ")
    assert f"\ncustomer_value: {customers} customers predicted" in done.stdout

    series = frame(db, "select * from analytics.forecast_series order by series").set_index("series")
    names = {"total", "destination/Lisbon", "destination/Oslo", "destination/Tokyo"}
    names |= {"booking_type/flight", "booking_type/hotel"}
    assert set(series.index) == {f"{metric}/{name}" for metric in ("bookings", "revenue") for name in names}
    assert series.loc["revenue/total", "unit"] == "USD" and series.loc["bookings/total", "unit"] == "bookings"
    # The total is the sum of the destinations; its own model's scores are kept.
    total = series.loc["bookings/total"]
    assert total["model"] == "bottom_up" and total["reconciliation"] == "bottom_up"
    assert total["base_model"] in CANDIDATE_NAMES and total["mase"] is not None
    for name in ("bookings/destination/Lisbon", "bookings/destination/Tokyo", "revenue/destination/Lisbon"):
        row = series.loc[name]
        assert row["model"] in CANDIDATE_NAMES and not row["too_short"] and row["reason"] is None
        assert set(row["backtest_mase"]) == CANDIDATE_NAMES and row["mase_seasonal_naive"] > 0
        # The model kept is the one that won the backtest, the seasonal naive forecast winning ties.
        scores = {k: (v if v is not None else np.inf) for k, v in row["backtest_mase"].items()}
        assert row["mase"] == min(scores.values()) and row["backtest_days"] > 0
        assert row["history_days"] == 70 and row["history_from"] == yesterday - timedelta(days=69)
    oslo = series.loc["bookings/destination/Oslo"]
    assert oslo["too_short"] and oslo["model"] == "too_short_fallback" and oslo["history_days"] <= 10
    assert "days of history (fewer than 28)" in oslo["reason"] and oslo["backtest_mase"] == {}
    assert series.loc["bookings/booking_type/hotel", "reconciliation"] == "scaled_to_total"

    # 90 days from today; destinations and booking types each add up to the total, day by day.
    forecasts = frame(db, "select * from analytics.demand_forecast")
    assert forecasts.groupby("series").size().eq(90).all() and forecasts["series"].nunique() == 12
    assert forecasts["day"].min() == today() and forecasts["day"].max() == today() + timedelta(days=89)
    for metric in ("bookings", "revenue"):
        of = forecasts[forecasts["metric"] == metric]
        by_level = of.pivot_table(index="day", columns="level", values="forecast", aggfunc="sum")
        np.testing.assert_allclose(by_level["destination"], by_level["total"], rtol=1e-9)
        np.testing.assert_allclose(by_level["booking_type"], by_level["total"], rtol=1e-9)
    assert (forecasts["lo95"] >= 0).all() and (forecasts["hi95"] > forecasts["lo95"]).any()
    lisbon = forecasts[forecasts["series"] == "bookings/destination/Lisbon"]["forecast"]
    assert 5 < lisbon.mean() < 13  # about 9 a day

    # The pricing team's outlook: the next 30 days against the same weekdays last year (none here).
    outlook = frame(db, "select * from analytics.demand_outlook order by destination").set_index("destination")
    assert list(outlook.index) == ["Lisbon", "Oslo", "Tokyo"]
    assert (outlook["first_day"] == today()).all() and (outlook["days"] == 30).all()
    first_30 = forecasts[(forecasts["metric"] == "bookings") & (forecasts["day"] < today() + timedelta(days=30))]
    assert float(outlook.loc["Lisbon", "forecast_bookings"]) == pytest.approx(
        first_30[first_30["destination"] == "Lisbon"]["forecast"].sum(), abs=0.05
    )
    assert (outlook["last_year_bookings"] == 0).all() and outlook["bookings_change"].isna().all()
    assert not outlook["last_year_complete"].any() and outlook.loc["Oslo", "too_short"]
    assert outlook.loc["Tokyo", "forecast_revenue"] > 0 and outlook.loc["Tokyo", "reporting_currency"] == "USD"

    # Predicted customer value, beside the historical one.
    lifetime = frame(db, "select * from analytics.customer_lifetime").set_index("customer_id")
    assert len(lifetime) == customers and lifetime["expected_value_12m"].notna().all()
    assert lifetime["probability_alive"].between(0, 1).all() and (lifetime["expected_bookings_12m"] >= 0).all()
    assert (lifetime["predicted_at"] == lifetime["predicted_at"].iloc[0]).all()
    predictions = frame(db, "select * from analytics.customer_prediction").set_index("customer_id")
    assert (predictions["history_to"] == yesterday).all() and (predictions["reporting_currency"] == "USD").all()
    np.testing.assert_allclose(
        predictions["expected_value_12m"].astype(float),
        (predictions["expected_bookings_12m"] * predictions["expected_booking_value"].astype(float)),
        atol=0.01 + 0.01 * predictions["expected_bookings_12m"].max(),
    )
    runs = frame(db, "select * from analytics.forecast_runs order by run_id")
    assert list(runs["kind"]) == ["demand", "customer_value"] and (runs["history_to"] == yesterday).all()
    fitted = runs.iloc[1]["details"]["bgnbd"]
    assert set(fitted) >= {"r", "alpha", "a", "b"} and runs.iloc[1]["details"]["gamma_gamma"]["q"] > 1
    assert runs.iloc[0]["details"]["too_short"] == ["bookings/destination/Oslo", "revenue/destination/Oslo"]

    # What the dashboard reads.
    answer = client.get("/v1/forecast")
    assert answer.status_code == 200
    body = ForecastMessage.model_validate(answer.json())
    assert body.series == "bookings/total" and body.model == "bottom_up" and len(body.points) == 30
    assert body.note is not None and "bottom-up" in body.note
    assert body.points[0].day == today().isoformat()
    assert len(body.actual) == 60 and body.actual[-1].day == yesterday.isoformat()
    assert sum(a.value for a in body.actual) == sum(e["occurred_at"] >= str(today() - timedelta(60)) for e in events)
    for point in body.points:
        assert point.lo95 <= point.lo80 <= point.forecast <= point.hi80 <= point.hi95
    oslo_answer = ForecastMessage.model_validate(client.get("/v1/forecast?destination=Oslo&horizon=90").json())
    assert len(oslo_answer.points) == 90 and oslo_answer.model == "too_short_fallback"
    assert oslo_answer.note is not None and "fewer than 28" in oslo_answer.note
    assert sum(a.value for a in oslo_answer.actual) == sum(e["data"]["destination"] == "Oslo" for e in events)
    hotel = ForecastMessage.model_validate(client.get("/v1/forecast?booking_type=hotel&horizon=7").json())
    assert len(hotel.points) == 7 and hotel.note is not None and "add up" in hotel.note
    for query, status, message in [
        ("?destination=Lisbon&booking_type=flight", 404, "a destination and a booking type together"),
        ("?destination=Nowhere", 404, "no forecast for destination 'Nowhere' yet"),
        ("?horizon=0", 400, "1 to 90"),
        ("?horizon=91", 400, "1 to 90"),
        ("?horizon=soon", 400, "1 to 90"),
        ("?days=3", 400, "unknown parameters ['days']"),
    ]:
        refused = client.get("/v1/forecast" + query)
        assert refused.status_code == status and message in refused.json()["error"], (query, refused.text)

    # Dashboards read the forecasts; analysts read everything, the projector writes, nobody else does.
    with as_role(database_url, "pulse_dashboard") as dashboard:
        assert dashboard.execute("select count(*) from analytics.demand_forecast").fetchone() == (1080,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            dashboard.execute("select * from analytics.customer_prediction")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            dashboard.execute("delete from analytics.demand_forecast")
    with as_role(database_url, "pulse_analyst") as analyst:
        for view in ("demand_outlook", "forecast_series", "customer_prediction", "forecast_runs"):
            assert analyst.execute(f"select count(*) from analytics.{view}").fetchone() != (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("delete from analytics.customer_prediction")


def test_revenue_waits_for_exchange_rates_and_each_refresh_replaces_the_last(
    db: psycopg.Connection[Any], settings: Settings, projector: psycopg.Connection[Any]
) -> None:
    yesterday = today() - timedelta(days=1)
    load(settings, daily_bookings({("Porto", "flight"): 5}, days=40, last_day=yesterday, currency="EUR"))

    first = store.run(projector, ("demand",), n_jobs=1)
    assert [r.kind for r in first] == ["demand"] and "revenue not forecast" in first[0].summary
    revenue = db.execute(
        "select model, reason from analytics.forecast_series where metric = 'revenue' order by series"
    ).fetchall()
    assert len(revenue) == 3 and all(model is None and "EUR have no exchange rate to USD" in r for model, r in revenue)
    assert db.execute("select count(*) from analytics.demand_forecast where metric = 'revenue'").fetchone() == (0,)
    assert db.execute("select count(*) from analytics.demand_forecast").fetchone() == (270,)

    load_rates(settings.database_url, [FxRate("EUR", None, date(2020, 1, 1), None, Decimal("1.10"))])
    # Within the interval nothing is due; asked without one, it refreshes and replaces the whole generation.
    assert store.run(projector, ("demand",), older_than=3600) == []
    second = store.run(projector, ("demand",), n_jobs=1)
    assert "revenue not forecast" not in second[0].summary
    generations = db.execute(
        "select metric, count(*), count(distinct generated_at) from analytics.demand_forecast group by 1 order by 1"
    ).fetchall()
    assert generations == [("bookings", 270, 1), ("revenue", 270, 1)]
    (latest,) = db.execute("select max(generated_at) from analytics.forecast_runs").fetchone() or (None,)
    assert db.execute("select min(generated_at) from analytics.forecast_series").fetchone() == (latest,)
    # Revenue in dollars: the euros converted at 1.10.
    per_day = db.execute(
        "select avg(forecast) from analytics.demand_forecast where series = 'revenue/total' and day < current_date + 28"
    ).fetchone()
    assert per_day is not None and 5 * 490 * 1.1 * 0.5 < per_day[0] < 5 * 490 * 1.1 * 1.5


def test_pulse_forecast_run_refuses_to_run_twice_at_once_or_from_a_failing_projection(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(hashtext('pulse.forecast_refresh'))")
        busy = pulse(database_url, "forecast", "run")
        assert busy.returncode == 3 and "another forecast refresh is running" in busy.stdout
    db.execute(
        "insert into pulse.projection_checkpoints (projection, version, batch_no, last_error) "
        "values (%s, 1, 0, 'boom') on conflict (projection) do update set last_error = 'boom'",
        (BOOKINGS.checkpoint,),
    )
    failing = pulse(database_url, "forecast", "run")
    assert failing.returncode == 1 and "the bookings projection is failing (boom)" in failing.stderr
    assert db.execute("select count(*) from analytics.forecast_runs").fetchone() == (0,)


def test_without_bookings_a_refresh_says_so_and_records_its_run(
    db: psycopg.Connection[Any], projector: psycopg.Connection[Any]
) -> None:
    done = store.run(projector)
    assert [r.items for r in done] == [0, 0]
    assert "nothing to forecast" in done[0].summary and "no bookings" in done[1].summary
    assert db.execute("select kind, items from analytics.forecast_runs order by run_id").fetchall() == [
        ("demand", 0),
        ("customer_value", 0),
    ]


def test_the_server_refreshes_on_its_schedule(db: psycopg.Connection[Any], database_url: str) -> None:
    def finished_runs() -> int:
        row = db.execute("select count(*) from analytics.forecast_runs where kind = 'customer_value'").fetchone()
        return int(row[0]) if row else 0

    with running_server(database_url, PULSE_FORECAST_INTERVAL="1"):
        # Refreshed at start (none existed), then again once the latest is older than the interval.
        wait_for(lambda: finished_runs() >= 2, timeout=60)
    runs = db.execute("select kind, generated_at from analytics.forecast_runs order by run_id").fetchall()
    # One refresh at a time, each kind in turn.
    assert [kind for kind, _ in runs][:4] == ["demand", "customer_value", "demand", "customer_value"]
    starts = [at for _, at in runs]
    assert starts == sorted(starts)


def test_pulse_forecast_evaluate_backtests_a_csv(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    days = pd.date_range("2025-01-01", periods=120, freq="D")
    y = 50 + 10 * np.sin(2 * np.pi * np.arange(120) / 7) + rng.normal(0, 3, 120)
    path = tmp_path / "series.csv"
    pd.DataFrame({"ds": days.strftime("%Y-%m-%d"), "y": y.round(1)}).to_csv(path, index=False)
    done = pulse(
        "postgresql://unused", "forecast", "evaluate", "--csv", str(path), "--season", "7", "--horizon", "14", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"model", "mase", "smape", "coverage_80", "coverage_95", "seasonal_naive"}
    assert set(result["seasonal_naive"]) == {"mase", "smape"} and result["mase"] < result["seasonal_naive"]["mase"]
    table = pulse("postgresql://unused", "forecast", "evaluate", "--csv", str(path), "--horizon", "14")
    assert table.returncode == 0 and "SeasonalNaive" in table.stdout
