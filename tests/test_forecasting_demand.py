"""Demand forecasts: model choice by backtest, reconciliation, short and gappy histories."""

import numpy as np
import pandas as pd
import pytest

from app.forecasting.demand import BOTTOM_UP, TOO_SHORT, DemandForecast, Hierarchy, forecast_demand
from app.forecasting.metrics import mase
from app.forecasting.selection import (
    BASELINE,
    MAX_WIDENING,
    MIN_NARROWING,
    backtest,
    calibrated_factor,
    choose,
    forecast,
    interval_factors,
    rescale,
    select_and_forecast,
)

START = pd.Timestamp("2024-01-01")
DAYS = 150
HORIZON = 14


def weekly(rng: np.random.Generator, level: float, days: int = DAYS, phase: int = 0) -> np.ndarray:
    t = np.arange(days)
    pattern = np.array([0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 0.9])
    return rng.poisson(level * np.roll(pattern, phase)[t % 7] * (1 + 0.002 * t)).astype(float)


def long_frame(series: dict[str, np.ndarray]) -> pd.DataFrame:
    parts = [
        pd.DataFrame({"unique_id": uid, "ds": pd.date_range(START, periods=len(y), freq="D"), "y": y})
        for uid, y in series.items()
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def hierarchy_result() -> DemandForecast:
    rng = np.random.default_rng(11)
    destinations = {
        f"dest:{name}": weekly(rng, level, phase=i)
        for i, (name, level) in enumerate([("Lisbon", 40.0), ("Tokyo", 25.0), ("Paris", 60.0)])
    }
    # A destination opened 10 days ago: too short for a model.
    destinations["dest:Reykjavik"] = np.concatenate([np.zeros(DAYS - 10), rng.poisson(3.0, 10).astype(float)])
    total = np.sum(list(destinations.values()), axis=0)
    flights = np.floor(total * 0.6)
    types = {"type:flight": flights, "type:hotel": total - flights}
    frame = long_frame({"total": total, **destinations, **types})
    # Reykjavik's rows start on its first booking day; Paris has a few days without rows.
    frame = frame[~((frame["unique_id"] == "dest:Reykjavik") & (frame["ds"] < START + pd.Timedelta(days=DAYS - 10)))]
    gaps = (frame["unique_id"] == "dest:Paris") & frame["ds"].isin(
        pd.date_range(START + pd.Timedelta(days=40), periods=3)
    )
    frame = frame[~gaps]
    hierarchy = Hierarchy(
        total="total",
        bottom=("dest:Lisbon", "dest:Tokyo", "dest:Paris", "dest:Reykjavik"),
        groups=(("type:flight", "type:hotel"),),
    )
    return forecast_demand(frame, hierarchy, HORIZON)


def test_output_shape_and_metadata(hierarchy_result: DemandForecast) -> None:
    result = hierarchy_result
    forecasts = result.forecasts
    assert list(forecasts.columns) == ["series", "day", "model", "forecast", "lo80", "hi80", "lo95", "hi95"]
    assert len(forecasts) == 7 * HORIZON
    assert result.last_day == START + pd.Timedelta(days=DAYS - 1)
    days = forecasts.loc[forecasts["series"] == "total", "day"]
    assert list(days) == list(pd.date_range(result.last_day + pd.Timedelta(days=1), periods=HORIZON))
    info = result.series["dest:Lisbon"]
    assert info.role == "bottom" and not info.too_short and info.reason is None
    assert set(info.mase) == {BASELINE, "AutoETS", "AutoARIMA", "MSTL", "AutoTheta"}
    assert info.model in info.mase and info.mase[info.model] == min(info.mase.values())
    assert info.backtest_horizon == HORIZON
    assert all(not i.failed_models for i in result.series.values())
    meta = result.metadata()
    assert set(meta["series"]) == set(result.series)
    assert {"model", "too_short", "reason", "mase_SeasonalNaive", "mase_AutoETS"} <= set(meta.columns)


def test_intervals_ordered_and_never_negative(hierarchy_result: DemandForecast) -> None:
    for frame in (hierarchy_result.forecasts, hierarchy_result.base):
        values = frame[["lo95", "lo80", "forecast", "hi80", "hi95"]].to_numpy()
        assert np.all(np.diff(values, axis=1) >= -1e-9)
        assert np.all(values >= 0)
        assert np.all(np.isfinite(values))


def test_destinations_and_types_add_up_to_the_total(hierarchy_result: DemandForecast) -> None:
    wide = hierarchy_result.forecasts.pivot(index="day", columns="series", values="forecast")
    destinations = ["dest:Lisbon", "dest:Tokyo", "dest:Paris", "dest:Reykjavik"]
    np.testing.assert_allclose(wide[destinations].sum(axis=1), wide["total"], rtol=1e-12)
    np.testing.assert_allclose(wide[["type:flight", "type:hotel"]].sum(axis=1), wide["total"], rtol=1e-12)
    total = hierarchy_result.series["total"]
    assert total.model == BOTTOM_UP and total.reconciliation == BOTTOM_UP
    assert total.base_model is not None and total.base_model != BOTTOM_UP
    assert hierarchy_result.series["type:hotel"].reconciliation == "scaled_to_total"
    assert hierarchy_result.series["dest:Tokyo"].reconciliation is None
    # The total's intervals keep the shape of its own model's around the bottom-up mean; only
    # the rescaling differs (test_the_total_is_calibrated_on_the_bottom_up_backtest).
    base = hierarchy_result.base.set_index(["series", "day"]).loc["total"]
    final = hierarchy_result.forecasts.set_index(["series", "day"]).loc["total"]
    ratio = ((final["hi95"] - final["forecast"]) / (base["hi95"] - base["forecast"])).to_numpy()
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)


def test_too_short_series_gets_the_documented_fallback(hierarchy_result: DemandForecast) -> None:
    info = hierarchy_result.series["dest:Reykjavik"]
    assert info.too_short and info.model == TOO_SHORT and info.base_model is None
    assert info.history_days == 10 and info.mase == {}
    assert info.reason is not None and "10 days" in info.reason and "28" in info.reason
    rows = hierarchy_result.forecasts[hierarchy_result.forecasts["series"] == "dest:Reykjavik"]
    assert (rows["model"] == TOO_SHORT).all()
    assert rows["forecast"].nunique() == 1  # a flat line
    assert rows["lo95"].iloc[0] <= rows["forecast"].iloc[0] <= rows["hi95"].iloc[0]


def test_gaps_are_quiet_days(hierarchy_result: DemandForecast) -> None:
    paris = hierarchy_result.series["dest:Paris"]
    assert paris.zero_filled_days == 3 and paris.history_days == DAYS
    assert hierarchy_result.series["dest:Lisbon"].zero_filled_days == 0


def test_fill_zero_from_first_row_to_the_last_day() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a"] * 3 + ["b"] * 30,
            "ds": [
                START,
                START + pd.Timedelta(days=5),
                START + pd.Timedelta(days=9),
                *pd.date_range(START, periods=30),
            ],
            "y": [4.0, 2.0, 1.0] + [3.0] * 30,
        }
    )
    result = forecast_demand(frame, Hierarchy(total="b", bottom=("a",)), 7)
    a = result.series["a"]
    # a: rows on days 0, 5, 9; b runs to day 29, so a's history is 30 days, 27 of them filled with 0.
    assert a.history_days == 30 and a.zero_filled_days == 27
    assert not a.too_short


def test_chosen_model_beats_seasonal_naive_on_a_seasonal_series() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(200)
    y = 100 + 0.3 * t + 25 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 8, 200)
    train, held_out = y[:172], y[172:]
    backtests = backtest({"s": train}, 28, 7)
    chosen = choose(backtests["s"])
    assert chosen != BASELINE
    assert backtests["s"].mase[chosen] < backtests["s"].mase[BASELINE]
    fitted = forecast({"s": train}, {"s": chosen}, 28, 7)["s"]
    naive = forecast({"s": train}, {"s": BASELINE}, 28, 7)["s"]
    assert fitted.model == chosen and fitted.horizon == 28
    assert mase(held_out, fitted.values[:, 0], train, 7) < mase(held_out, naive.values[:, 0], train, 7)


def test_series_outside_the_hierarchy_and_without_rows() -> None:
    rng = np.random.default_rng(3)
    frame = long_frame({"dest:a": weekly(rng, 10.0, 60), "other": weekly(rng, 5.0, 60)})
    hierarchy = Hierarchy(total="total", bottom=("dest:a", "dest:new"))
    result = forecast_demand(frame, hierarchy, 5)
    # No rows for the total: its history is the sum of the destinations.
    assert result.series["total"].reason is not None and "sum of the bottom" in result.series["total"].reason
    assert result.series["dest:new"].reason == "no history: forecast 0"
    new = result.forecasts[result.forecasts["series"] == "dest:new"]
    assert (new[["forecast", "lo95", "hi95"]].to_numpy() == 0).all()
    assert result.series["other"].role == "independent" and result.series["other"].reconciliation is None
    wide = result.forecasts.pivot(index="day", columns="series", values="forecast")
    np.testing.assert_allclose(wide["dest:a"] + wide["dest:new"], wide["total"])


def test_constant_series_do_not_break_the_backtest() -> None:
    frame = long_frame({"zeros": np.zeros(60), "flat": np.full(60, 4.0)})
    result = forecast_demand(frame, Hierarchy(total="flat", bottom=("zeros",)), 7)
    zeros = result.series["zeros"]
    assert zeros.model == BASELINE  # nothing beats repeating zeros
    assert zeros.failed_models == ("AutoTheta",)  # its decomposition divides by zero; it is left out
    assert np.all(result.forecasts.loc[result.forecasts["series"] == "zeros", "hi95"] == 0)


@pytest.mark.parametrize(
    ("frame", "horizon", "message"),
    [
        (pd.DataFrame({"unique_id": ["a"], "ds": [START]}), 7, "lacks columns: y"),
        (pd.DataFrame({"unique_id": ["a", "a"], "ds": [START, START], "y": [1.0, 2.0]}), 7, "more than one row"),
        (pd.DataFrame({"unique_id": ["a"], "ds": [START], "y": [np.nan]}), 7, "missing or infinite"),
        (pd.DataFrame({"unique_id": ["a"], "ds": [START], "y": [1.0]}), 91, "horizon must be 1..90"),
        (pd.DataFrame({"unique_id": ["a"], "ds": [START], "y": [1.0]}), 0, "horizon must be 1..90"),
    ],
)
def test_bad_input_is_refused(frame: pd.DataFrame, horizon: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        forecast_demand(frame, Hierarchy(total="t", bottom=("a",)), horizon)


def test_hierarchy_is_checked() -> None:
    with pytest.raises(ValueError, match="only once"):
        Hierarchy(total="t", bottom=("a", "a"))
    with pytest.raises(ValueError, match="at least one bottom"):
        Hierarchy(total="t", bottom=())


def test_interval_rescaling() -> None:
    # Mean 10, 80 % interval 9..11, 95 % interval 8..12; actual values 2 and 3 away.
    values = np.array([[10.0, 9.0, 11.0, 8.0, 12.0]] * 10)
    actual = np.array([12.0, 8.0, 13.0, 7.0, 10.0, 10.0, 10.0, 10.0, 10.5, 9.5])
    factors = interval_factors(actual, values)
    assert factors[80] == pytest.approx(2.0)  # 8 of 10 errors within 2 half-widths
    assert factors[95] == pytest.approx(1.5)  # 95 % needs the largest error, 3 = 1.5 x 2
    widened = rescale(values, factors)
    np.testing.assert_allclose(widened[0], [10.0, 8.0, 12.0, 7.0, 13.0])
    assert np.all(widened[:, 1] <= values[:, 1]) and np.all(widened[:, 4] >= values[:, 4])
    # Narrowed 70 % of the way on a log scale: a backtest that needed 0.64 of the width gets 0.64 ** 0.7 of it.
    kept = 0.64**0.7
    np.testing.assert_allclose(
        rescale(values, {80: 0.64, 95: 0.64})[0], [10.0, 10 - kept, 10 + kept, 10 - 2 * kept, 10 + 2 * kept]
    )
    # ... and never below half, however little the backtest needed.
    np.testing.assert_allclose(rescale(values, {80: 0.01, 95: 0.0})[0], [10.0, 9.5, 10.5, 9.0, 11.0])
    # The 95 % interval stays at least as wide as the 80 % one.
    nested = rescale(values, {80: 3.0, 95: 1.0})
    assert nested[0, 3] <= nested[0, 1] and nested[0, 4] >= nested[0, 2]


def test_the_total_is_calibrated_on_the_bottom_up_backtest() -> None:
    """The total's interval is rescaled by what the sum of the destinations' backtests needed, not its own model's."""
    rng = np.random.default_rng(5)
    days, new_days = 120, 20
    a = weekly(rng, 40.0, days)
    b = np.concatenate([np.zeros(days - new_days), rng.poisson(5.0, new_days).astype(float)])  # too short for a model
    total = a + b
    frame = long_frame({"t": total, "a": a, "b": b})
    frame = frame[~((frame["unique_id"] == "b") & (frame["ds"] < START + pd.Timedelta(days=days - new_days)))]
    hierarchy = Hierarchy(total="t", bottom=("a", "b"))
    shown = forecast_demand(frame, hierarchy, HORIZON).forecasts
    own = forecast_demand(frame, hierarchy, HORIZON, calibrate=False).base

    # The same backtest, summed here: a's chosen model, and b's seasonal naive forecast from each origin.
    choices = select_and_forecast({"t": total, "a": a}, HORIZON, 7)
    bt_total, bt_a = choices["t"].backtest, choices["a"].backtest
    assert bt_total is not None and bt_a is not None and bt_a.horizon == bt_total.horizon
    hb, points = bt_total.horizon, bt_total.horizon * bt_total.windows
    naive_b = [b[days - points + w * hb - 7 + k % 7] for w in range(bt_total.windows) for k in range(hb)]
    summed = np.clip(bt_a.values[choices["a"].forecast.model][:, 0], 0.0, None) + np.array(naive_b)
    total_model = bt_total.values[choices["t"].forecast.model]
    needed = interval_factors(total[-points:], total_model - total_model[:, [0]] + summed[:, None])
    # Neither bound of the rescaling applies, and the total's own backtest asked for another factor:
    # the check below tells the bottom-up calibration from the other.
    assert MIN_NARROWING < calibrated_factor(needed[80]) < MAX_WIDENING
    own_factor = calibrated_factor(bt_total.factors[choices["t"].forecast.model][80])
    assert abs(calibrated_factor(needed[80]) - own_factor) > 0.01

    t_shown, t_own = shown[shown["series"] == "t"], own[own["series"] == "t"]
    np.testing.assert_allclose(
        (t_shown["hi80"] - t_shown["forecast"]).to_numpy(),
        calibrated_factor(needed[80]) * (t_own["hi80"] - t_own["forecast"]).to_numpy(),
    )


def test_calibration_can_be_switched_off() -> None:
    rng = np.random.default_rng(9)
    frame = long_frame({"t": weekly(rng, 30.0, 90), "a": weekly(rng, 30.0, 90)})
    hierarchy = Hierarchy(total="t", bottom=("a",))
    raw = forecast_demand(frame, hierarchy, 7, calibrate=False).base
    calibrated = forecast_demand(frame, hierarchy, 7).base
    np.testing.assert_allclose(raw["forecast"], calibrated["forecast"])
    # Calibrated, the intervals are rescaled by the backtest: their widths change.
    for level in ("80", "95"):
        raw_width = (raw[f"hi{level}"] - raw[f"lo{level}"]).to_numpy()
        calibrated_width = (calibrated[f"hi{level}"] - calibrated[f"lo{level}"]).to_numpy()
        assert not np.allclose(raw_width, calibrated_width)


def test_candidates_can_be_narrowed() -> None:
    rng = np.random.default_rng(4)
    frame = long_frame({"t": weekly(rng, 30.0, 80), "a": weekly(rng, 30.0, 80)})
    result = forecast_demand(frame, Hierarchy(total="t", bottom=("a",)), 7, candidates=("AutoETS",))
    assert set(result.series["a"].mase) == {BASELINE, "AutoETS"}
    assert result.series["a"].model in {BASELINE, "AutoETS"}
    with pytest.raises(ValueError, match="unknown model"):
        forecast_demand(frame, Hierarchy(total="t", bottom=("a",)), 7, candidates=("Prophet",))
