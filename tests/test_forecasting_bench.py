"""The forecast benchmarks: the backtest's pure part reports every level; the database one sends valid events."""

from datetime import date

import numpy as np

from bench.forecast_backtest import backtest_levels, simulate_traffic, synthetic_bookings
from bench.forecasts import booking_events
from core.events import validate_event


def test_synthetic_bookings_hold_their_hierarchies() -> None:
    df, hierarchies = synthetic_bookings(destinations=3, days=60, seed=1)
    assert len(hierarchies) == 2 and df["unique_id"].nunique() == 2 * (1 + 3 + 5)
    wide = df.pivot(index="ds", columns="unique_id", values="y")
    for hierarchy in hierarchies:
        np.testing.assert_allclose(wide[list(hierarchy.bottom)].sum(axis=1), wide[hierarchy.total])
        np.testing.assert_allclose(wide[list(hierarchy.groups[0])].sum(axis=1), wide[hierarchy.total])
    assert (df["y"] >= 0).all()


def test_backtest_levels_reports_every_level() -> None:
    df, hierarchies = synthetic_bookings(destinations=2, days=90, seed=2)
    figures = backtest_levels(df, hierarchies[:1], horizon=7, origins=1)
    assert set(figures["levels"]) == {"total", "destination", "type"}
    for level in figures["levels"].values():
        assert level["median_mase"] > 0 and level["forecasts_scored"] > 0 and level["median_mase_seasonal_naive"] > 0
        assert 0 <= level["coverage_80"] <= level["coverage_95"] <= 1
    assert len(figures["refresh_seconds"]) == 1 and figures["series"] == 16


def test_the_database_benchmark_sends_valid_events_for_every_simulated_booking() -> None:
    days = list(booking_events(destinations=2, days=20, last_day=date(2026, 3, 31), seed=4))
    assert len(days) == 20
    traffic = simulate_traffic(2, 20, 4, "2026-03-12")
    assert [len(rows) for rows in days] == [int(n) for n in traffic.counts.sum(axis=(0, 1))]
    for rows in days[:3]:
        for row in rows:
            event = {"event_id": row["i"], "type": row["t"], "occurred_at": row["o"], "data": row["d"]}
            assert not isinstance(validate_event(event), list), event
    currencies = {row["d"]["currency"] for rows in days for row in rows}
    assert currencies == {"USD", "EUR"}
