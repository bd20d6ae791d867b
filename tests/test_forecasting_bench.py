"""The forecast backtest benchmark's pure part runs and reports every level."""

import numpy as np

from bench.forecast_backtest import backtest_levels, synthetic_bookings


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
