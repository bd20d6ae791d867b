"""Backtest of the demand forecasts: accuracy per level against the seasonal naive, coverage, refresh time.

`backtest_levels()` is the pure part: given daily series (unique_id, ds, y) and
their hierarchies (one per metric), it cuts the history at `origins` points
(the last `horizon` days, the `horizon` days before those, ...), runs a full
refresh (fit, backtest, choose, reconcile: `forecast_demand`) on what came
before each cut, and scores the reconciled forecasts -- what a user sees -- on
the days after it. Per level (total, destination, type) it reports the median
MASE of the forecasts shown and of the seasonal naive forecast (each scaled by
the in-sample seasonal naive MAE of the series' training part), the median
MASE of each series' own model before reconciliation, the share of series
whose forecast beat the seasonal naive one, and the share of actual days inside
the 80 % and 95 % intervals; and the wall-clock and CPU time of each refresh
(the machine is shared: the CPU time, over the cores, tells what an idle
machine would take).

`python -m bench.forecast_backtest` generates realistic synthetic booking
traffic -- destinations and booking types, weekly and yearly seasonality,
growth, overdispersed noise, holidays, bookings and revenue -- prints the
figures on stderr and writes them as one JSON object to stdout.
`python -m bench.forecasts` feeds `backtest_levels()` the same traffic after a
trip through the database: events, projections, the series read back as a
refresh reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.forecasting.demand import SEASON, Hierarchy, forecast_demand
from app.forecasting.metrics import coverage, mase
from app.forecasting.selection import BASELINE, CANDIDATES
from app.forecasting.selection import forecast as fit_and_forecast

LEVEL_NAMES = {"total": "total", "bottom": "destination", "group": "type"}
TYPES = ("flight", "hotel", "package", "car", "activity")


def backtest_levels(
    df: pd.DataFrame,
    hierarchies: Sequence[Hierarchy],
    horizon: int = 28,
    origins: int = 1,
    n_jobs: int = 1,
    calibrate: bool = True,
    candidates: Sequence[str] = CANDIDATES,
) -> dict[str, Any]:
    """Scores full refreshes at `origins` cut points; returns figures per level and the refresh times."""
    frame = df.assign(ds=pd.to_datetime(df["ds"]).dt.normalize())
    last_day = frame["ds"].max()
    level_of = {}
    members = [
        {hierarchy.total, *hierarchy.bottom, *(uid for group in hierarchy.groups for uid in group)}
        for hierarchy in hierarchies
    ]
    for hierarchy in hierarchies:
        level_of[hierarchy.total] = "total"
        level_of.update({uid: "destination" for uid in hierarchy.bottom})
        level_of.update({uid: "type" for group in hierarchy.groups for uid in group})
    scores: dict[str, dict[str, list[float]]] = {}
    hits: dict[str, dict[str, list[float]]] = {}
    refresh_seconds: list[float] = []
    refresh_cpu_seconds: list[float] = []
    chosen_models: dict[str, int] = {}
    for origin in range(origins, 0, -1):
        cut = last_day - pd.Timedelta(days=origin * horizon)
        train = frame[frame["ds"] <= cut]
        test = frame[(frame["ds"] > cut) & (frame["ds"] <= cut + pd.Timedelta(days=horizon))]
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        results = [
            forecast_demand(
                train[train["unique_id"].isin(members[i])],
                hierarchy,
                horizon,
                end=cut,
                n_jobs=n_jobs,
                calibrate=calibrate,
                candidates=candidates,
            )
            for i, hierarchy in enumerate(hierarchies)
        ]
        refresh_seconds.append(time.perf_counter() - started)
        refresh_cpu_seconds.append(_cpu_seconds() - cpu_started)
        for result in results:
            histories = {
                uid: group.set_index("ds")["y"]
                .reindex(pd.date_range(group["ds"].min(), cut), fill_value=0.0)
                .to_numpy(dtype=np.float64)
                for uid, group in train.groupby("unique_id")
                if uid in result.series
            }
            modelled = {uid: y for uid, y in histories.items() if not result.series[uid].too_short}
            naive = fit_and_forecast(modelled, dict.fromkeys(modelled, BASELINE), horizon, SEASON)
            for uid, y_train in modelled.items():
                level = level_of.get(uid, "other")
                actual = (
                    test[test["unique_id"] == uid]
                    .set_index("ds")["y"]
                    .reindex(result.forecasts.loc[result.forecasts["series"] == uid, "day"], fill_value=0.0)
                    .to_numpy(dtype=np.float64)
                )
                shown = result.forecasts[result.forecasts["series"] == uid]
                own = result.base[result.base["series"] == uid]
                info = result.series[uid]
                chosen_models[info.base_model or "none"] = chosen_models.get(info.base_model or "none", 0) + 1
                level_scores = scores.setdefault(level, {"shown": [], "own": [], "naive": []})
                level_scores["shown"].append(mase(actual, shown["forecast"].to_numpy(), y_train, SEASON))
                level_scores["own"].append(mase(actual, own["forecast"].to_numpy(), y_train, SEASON))
                level_scores["naive"].append(mase(actual, np.clip(naive[uid].values[:, 0], 0.0, None), y_train, SEASON))
                level_hits = hits.setdefault(level, {"80": [], "95": []})
                for name in ("80", "95"):
                    inside = coverage(actual, shown[f"lo{name}"].to_numpy(), shown[f"hi{name}"].to_numpy())
                    level_hits[name].append(inside)

    levels: dict[str, Any] = {}
    for level, values in scores.items():
        shown, own, naive_scores = ([v for v in values[key] if np.isfinite(v)] for key in ("shown", "own", "naive"))
        levels[level] = {
            "forecasts_scored": len(shown),
            "median_mase": statistics.median(shown),
            "median_mase_own_model": statistics.median(own),
            "median_mase_seasonal_naive": statistics.median(naive_scores),
            "share_beating_seasonal_naive": float(np.mean(np.array(values["shown"]) < np.array(values["naive"]))),
            "coverage_80": float(np.mean(hits[level]["80"])),
            "coverage_95": float(np.mean(hits[level]["95"])),
        }
    return {
        "series": int(frame["unique_id"].nunique()),
        "days": int((last_day - frame["ds"].min()).days + 1),
        "horizon": horizon,
        "origins": origins,
        "n_jobs": n_jobs,
        "calibrated_intervals": calibrate,
        "candidates": list(candidates),
        "levels": levels,
        "refresh_seconds": refresh_seconds,
        "refresh_cpu_seconds": refresh_cpu_seconds,
        "load_average_1min": os.getloadavg()[0],
        "chosen_models": dict(sorted(chosen_models.items())),
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes (statsforecast's pool)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass(frozen=True)
class Traffic:
    """Simulated daily bookings per destination and booking type (arrays indexed destination, type, day)."""

    days: pd.DatetimeIndex
    counts: npt.NDArray[np.float64]
    revenue: npt.NDArray[np.float64]
    # Per destination and type, the scale of each booking's gamma-distributed value (shape 4).
    value_scale: npt.NDArray[np.float64]


def simulate_traffic(destinations: int = 10, days: int = 400, seed: int = 0, start: str = "2024-01-01") -> Traffic:
    """A realistic-looking daily booking history: bookings and revenue, per destination and booking type.

    Each destination has its own level (a few big ones, many small ones), growth,
    yearly pattern (summer or winter peak, of its own strength) and weekly
    pattern (fewer bookings at the weekend); counts are negative binomial
    (overdispersed); Black Friday and Cyber Monday bring spikes, Christmas Day
    and New Year's Day dips. Every booking gets a type (with destination-specific
    shares) and a gamma-distributed value (by type and destination).
    """
    rng = np.random.default_rng(seed)
    day_index = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days, dtype=np.float64)
    doy = day_index.dayofyear.to_numpy()
    weekday = day_index.dayofweek.to_numpy()
    holiday = np.ones(days)
    for year in sorted(set(day_index.year)):
        november = pd.date_range(f"{year}-11-01", f"{year}-11-30")
        black_friday = november[(november.dayofweek == 4)][3]
        holiday[day_index == black_friday] = 2.5
        holiday[day_index == black_friday + pd.Timedelta(days=3)] = 1.8
        holiday[day_index == pd.Timestamp(f"{year}-12-25")] = 0.3
        holiday[day_index == pd.Timestamp(f"{year}-01-01")] = 0.5

    type_value = np.array([300.0, 450.0, 1200.0, 150.0, 60.0])
    counts = np.zeros((destinations, len(TYPES), days))
    revenue = np.zeros((destinations, len(TYPES), days))
    value_scale = np.zeros((destinations, len(TYPES)))
    for d in range(destinations):
        level = 150.0 / (d + 1) ** 0.8 + rng.uniform(2, 10)
        growth = 1 + rng.uniform(-0.0003, 0.0015) * t
        peak = rng.choice([200, 20])  # summer or winter destination
        yearly = 1 + rng.uniform(0.1, 0.4) * np.cos(2 * np.pi * (doy - peak + 120) / 365.25)
        weekly = np.array([1.1, 1.15, 1.1, 1.05, 0.95, 0.75, 0.8])[weekday] * (1 + rng.normal(0, 0.05, 7))[weekday]
        mu = level * growth * yearly * weekly * holiday
        dispersion = 20.0
        daily = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
        shares = rng.dirichlet([6, 5, 2, 2, 1])
        split = np.array([rng.multinomial(n, shares) for n in daily]).T  # (type, day)
        counts[d] = split
        scale = type_value * rng.uniform(0.7, 1.4) / 4.0  # gamma shape 4: mean value type_value x factor
        value_scale[d] = scale
        for k in range(len(TYPES)):
            has = split[k] > 0
            revenue[d, k, has] = rng.gamma(4.0 * split[k, has], scale[k])
    return Traffic(day_index, counts, revenue, value_scale)


def synthetic_bookings(
    destinations: int = 10, days: int = 400, seed: int = 0, start: str = "2024-01-01"
) -> tuple[pd.DataFrame, list[Hierarchy]]:
    """simulate_traffic() as daily series, bookings and revenue, overall, per destination and per booking type.

    Totals and types are sums over destinations, so the hierarchies hold exactly.
    """
    traffic = simulate_traffic(destinations, days, seed, start)
    day_index, counts, revenue = traffic.days, traffic.counts, traffic.revenue
    frames = []
    hierarchies = []
    for metric, values in (("bookings", counts), ("revenue", np.round(revenue, 2))):
        names = {"total": f"{metric}/total"}
        series = {names["total"]: values.sum(axis=(0, 1))}
        bottom = []
        for d in range(destinations):
            uid = f"{metric}/destination/{d:03d}"
            bottom.append(uid)
            series[uid] = values[d].sum(axis=0)
        types = []
        for k, name in enumerate(TYPES):
            uid = f"{metric}/type/{name}"
            types.append(uid)
            series[uid] = values[:, k].sum(axis=0)
        for uid, y in series.items():
            frames.append(pd.DataFrame({"unique_id": uid, "ds": day_index, "y": y}))
        hierarchies.append(Hierarchy(total=names["total"], bottom=tuple(bottom), groups=(tuple(types),)))
    return pd.concat(frames, ignore_index=True), hierarchies


def _report(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['series']} series of {figures['days']} days, horizon {figures['horizon']}, "
        f"{figures['origins']} origin(s), {figures['n_jobs']} job(s)",
        f"{'level':<13}{'scored':>7}{'MASE':>8}{'own':>8}{'s.naive':>9}{'beats':>7}{'in 80 %':>9}{'in 95 %':>9}",
    ]
    for level, v in figures["levels"].items():
        lines.append(
            f"{level:<13}{v['forecasts_scored']:>7}{v['median_mase']:>8.3f}{v['median_mase_own_model']:>8.3f}"
            f"{v['median_mase_seasonal_naive']:>9.3f}{v['share_beating_seasonal_naive']:>7.0%}"
            f"{v['coverage_80']:>9.1%}{v['coverage_95']:>9.1%}"
        )
    lines.append(
        "refresh: "
        + ", ".join(
            f"{wall:.1f} s ({cpu:.1f} s CPU)"
            for wall, cpu in zip(figures["refresh_seconds"], figures["refresh_cpu_seconds"], strict=True)
        )
        + f"; load average {figures['load_average_1min']:.1f} on {os.cpu_count()} cores"
    )
    lines.append("models chosen: " + ", ".join(f"{k} {n}" for k, n in figures["chosen_models"].items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--destinations", type=int, default=10, help="destinations per metric (default 10)")
    parser.add_argument("--days", type=int, default=400, help="days of history (default 400)")
    parser.add_argument("--horizon", type=int, default=28, help="forecast horizon in days (default 28)")
    parser.add_argument("--origins", type=int, default=3, help="backtest origins, horizon days apart (default 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-calibrate", action="store_true", help="keep the models' own interval widths")
    parser.add_argument(
        "--candidates", default=",".join(CANDIDATES), help=f"models to choose from (default {','.join(CANDIDATES)})"
    )
    args = parser.parse_args(argv)
    df, hierarchies = synthetic_bookings(args.destinations, args.days, args.seed)
    candidates = args.candidates.split(",")
    figures = backtest_levels(df, hierarchies, args.horizon, args.origins, args.jobs, not args.no_calibrate, candidates)
    print(_report(figures), file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
