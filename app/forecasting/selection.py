"""Candidate models, rolling-origin backtest and per-series model choice.

Every model comes from statsforecast; nothing here is a hand-written forecasting
model. Series are plain float arrays of consecutive periods (a day for demand
forecasts, whatever the CSV holds for `pulse forecast evaluate`), keyed by a
series id; statsforecast sees them with integer time stamps 0..n-1 (freq=1), so
the same code serves daily and non-daily data.

The backtest. For a series of n points and a forecast horizon h, the backtest
uses `windows` (3) origins, `hb` periods apart, each forecasting the next `hb`
periods, where hb = min(h, (n - max(2 * season, n // 2)) // windows): the
earliest origin keeps at least half the series and at least two seasons of
training data, so that the models compared are fitted on enough data to stand
for the model fitted on all of it; short series, and long horizons on short
series, get a shorter backtest horizon (recorded as `Backtest.horizon`)
instead of none. Model parameters are estimated once, at the first origin, and
carried forward to the later origins with each model's `forward` (statsforecast
`refit=False`): the state is updated with the newer data, the parameters are
not re-estimated. That cuts the cost of the backtest to about a third, which
is what keeps a refresh of 200 series of 400 days near 35 s of work for each
of two cores.

The score. MASE = MAE over all backtest points / scale, where scale is the
in-sample MAE of the seasonal naive forecast (y[t] - y[t - season]) on the
training data before the first origin; one scale per series, so ranking by
MASE is ranking by MAE. Where that scale is 0 (a series that repeats its
weekly pattern exactly, e.g. all zeros) MASE is NaN and the models are ranked
by MAE. A model that fails on a series, or returns a non-finite value, gets an
infinite score there.

The choice. The candidate with the lowest score wins; SeasonalNaive is always
scored beside the candidates and wins ties, so a candidate is chosen only when
it beat the seasonal naive forecast in the backtest.

The intervals. The models' 80 % and 95 % intervals assume the model is true and
its parameters known, so they are miscalibrated both ways: for the model that
won a backtest among five they were too narrow on some series (in
bench/forecast_backtest.py they held about 74 % and 89 % of the held-out
values), and for smooth aggregates too wide (in bench.forecasts, widened only,
the total's and the booking types' 80 % intervals held 97.6 % and 90.2 %). So
`select_and_forecast` rescales each interval of the chosen model by the factor
that would have held 80 % (95 %) of that series' backtest values, each error
measured against the interval's half-width on its side of the mean
(`interval_factors`): widening fully, up to MAX_WIDENING, but narrowing only
70 % of the way on a log scale (the factor to the power NARROWING_EXPONENT), at
most to MIN_NARROWING. The backtest windows lie before the days forecast, and
on a growing series with noise in proportion to its level the errors to come
are larger than those of the backtest: at 80 % the totals' (bottom-up)
backtests asked for 0.38-0.59 where the next 28 days needed 0.51-0.63. The
exponent was chosen on bench.forecast_backtest's synthetic traffic at two
windows (ending 2026-11 and 2026-05); full narrowing left the booking types'
80 % intervals holding 72 %, the square root left the totals' holding 86-95 %,
0.7 gave 78-82 % at every level on the first window (on the second the types
held 85 % and the totals still 92 %). `rescale` keeps the 95 % interval at
least as wide as the 80 % one. `calibrate=False` keeps the models' own widths.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

FloatArray = npt.NDArray[np.float64]

BASELINE = "SeasonalNaive"
CANDIDATES: tuple[str, ...] = ("AutoETS", "AutoARIMA", "MSTL", "AutoTheta")
LEVELS: tuple[int, int] = (80, 95)
# Column order of a forecast block: the mean, then the interval bounds.
BLOCK_COLUMNS: tuple[str, ...] = ("forecast", "lo80", "hi80", "lo95", "hi95")
DEFAULT_WINDOWS = 3
MAX_WIDENING = 4.0
MIN_NARROWING = 0.5
# How much of a narrowing is applied, on a log scale (see calibrated_factor).
NARROWING_EXPONENT = 0.7


def make_model(name: str, season: int) -> Any:
    """A fresh statsforecast model named `name` for seasonal period `season`."""
    if name == BASELINE:
        return SeasonalNaive(season_length=season)
    if name == "AutoETS":
        # Additive errors only ("AZZ": trend and season still chosen, damped or
        # not): half the fits of the full "ZZZ" search, at the same backtest
        # error on booking-like series.
        return AutoETS(season_length=season, model="AZZ")
    if name == "AutoARIMA":
        # A smaller search than the default: orders p, q, P, Q of at most 1
        # (which still holds the "airline" model (0,1,1)(0,1,1) and its
        # neighbours; d and D by the usual tests) with the approximation (CSS
        # likelihood during the order search; the chosen order is then estimated
        # by full maximum likelihood). A quarter of the cost of a default search
        # on 400 daily points, at the same backtest error on booking-like series;
        # AutoARIMA is still the most expensive candidate.
        return AutoARIMA(
            season_length=season,
            approximation=True,
            max_p=1,
            max_q=1,
            max_P=1,
            max_Q=1,
            start_p=1,
            start_q=1,
        )
    if name == "MSTL":
        return MSTL(season_length=season)
    if name == "AutoTheta":
        return AutoTheta(season_length=season)
    raise ValueError(f"unknown model {name!r}")


@contextmanager
def _model_warnings() -> Iterator[None]:
    """Silences the warnings statsforecast's models raise while fitting.

    Two kinds, both harmless here because every output is checked for finite
    values afterwards and a failure only disqualifies that model for that
    series: AutoARIMA's "possible convergence problem" (a candidate order whose
    optimiser stopped early; the search goes on), and numpy's RuntimeWarnings
    (overflow, invalid value) raised inside statsforecast's code, e.g. AutoTheta
    on a constant series.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="possible convergence problem", category=UserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"statsforecast(\.|$)")
        yield


@dataclass(frozen=True)
class Backtest:
    """One series' rolling-origin backtest."""

    horizon: int
    windows: int
    scale: float
    mae: dict[str, float]
    mase: dict[str, float]
    coverage: dict[str, dict[int, float]]
    factors: dict[str, dict[int, float]]
    failed: tuple[str, ...] = ()
    # The backtest's forecasts per model (rows of BLOCK_COLUMNS, origin by
    # origin: the series' last windows * horizon points) and those points.
    values: dict[str, FloatArray] = field(default_factory=dict, repr=False)
    actual: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False)

    def score(self, model: str) -> float:
        """MASE, or MAE where the scale is 0; infinite for a model that failed."""
        value = self.mase[model] if self.scale > 0 else self.mae[model]
        return math.inf if math.isnan(value) else value


@dataclass(frozen=True)
class ModelForecast:
    """A forecast of `horizon` periods: one row per step, columns BLOCK_COLUMNS."""

    model: str
    values: FloatArray = field(repr=False)

    @property
    def horizon(self) -> int:
        return int(self.values.shape[0])


def backtest_horizon(n: int, h: int, season: int, windows: int = DEFAULT_WINDOWS) -> int:
    """The backtest horizon for a series of n points (0: too short to backtest)."""
    return max(0, min(h, (n - max(2 * season, n // 2)) // windows))


def seasonal_naive_scale(y: FloatArray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast: mean |y[t] - y[t - season]|."""
    if y.shape[0] <= season:
        return math.nan
    return float(np.mean(np.abs(y[season:] - y[:-season])))


def interval_factors(actual: FloatArray, values: FloatArray) -> dict[int, float]:
    """Per level, the smallest factor on the interval's half-widths that would have held
    `level` % of the backtest's actual values (capped at MAX_WIDENING)."""
    mean = values[:, 0]
    above = actual >= mean
    factors: dict[int, float] = {}
    for i, level in enumerate(LEVELS):
        lower, upper = values[:, 1 + 2 * i], values[:, 2 + 2 * i]
        half = np.where(above, upper - mean, mean - lower)
        error = np.abs(actual - mean)
        ratio = np.divide(error, half, out=np.where(error > 0, np.inf, 0.0), where=half > 0)
        needed = float(np.quantile(ratio, level / 100.0, method="inverted_cdf"))
        factors[level] = min(needed, MAX_WIDENING)
    return factors


def rescale(values: FloatArray, factors: Mapping[int, float]) -> FloatArray:
    """Interval bounds moved to `calibrated_factor` times their distance from the mean.

    Keeps the bounds nested: the 95 % interval is at least as wide as the 80 % one.
    """
    result = values.copy()
    mean = values[:, 0]
    for i, level in enumerate(LEVELS):
        factor = calibrated_factor(factors.get(level, 1.0))
        result[:, 1 + 2 * i] = mean - factor * (mean - values[:, 1 + 2 * i])
        result[:, 2 + 2 * i] = mean + factor * (values[:, 2 + 2 * i] - mean)
    result[:, 3] = np.minimum(result[:, 3], result[:, 1])
    result[:, 4] = np.maximum(result[:, 4], result[:, 2])
    return result


def calibrated_factor(needed: float) -> float:
    """The factor applied for a backtest that needed `needed`: all of a widening, 70 % of a narrowing (log scale)."""
    if needed >= 1.0:
        return min(needed, MAX_WIDENING)
    return max(float(needed**NARROWING_EXPONENT), MIN_NARROWING)


def choose(backtest: Backtest, candidates: Sequence[str] = CANDIDATES) -> str:
    """The model with the lowest backtest score; the seasonal naive wins ties."""
    best, best_score = BASELINE, backtest.score(BASELINE)
    for name in candidates:
        score = backtest.score(name)
        if score < best_score:
            best, best_score = name, score
    return best


def _long_frame(series: Mapping[str, FloatArray]) -> pd.DataFrame:
    ids = [np.full(len(y), uid, dtype=object) for uid, y in series.items()]
    steps = [np.arange(len(y), dtype=np.int64) for y in series.values()]
    values = [np.asarray(y, dtype=np.float64) for y in series.values()]
    return pd.DataFrame(
        {
            "unique_id": np.concatenate(ids) if ids else np.array([], dtype=object),
            "ds": np.concatenate(steps) if steps else np.array([], dtype=np.int64),
            "y": np.concatenate(values) if values else np.array([], dtype=np.float64),
        }
    )


def _block_columns(alias: str) -> list[str]:
    return [alias, f"{alias}-lo-80", f"{alias}-hi-80", f"{alias}-lo-95", f"{alias}-hi-95"]


# (series id, model) -> (rows of BLOCK_COLUMNS, y or None)
Blocks = dict[tuple[str, str], tuple[FloatArray, FloatArray | None]]


def _split(result: pd.DataFrame, aliases: Sequence[str]) -> Blocks:
    """Cuts a statsforecast result into one block per series and model."""
    blocks: Blocks = {}
    for uid, group in result.groupby("unique_id", sort=False):
        group = group.sort_values(["cutoff", "ds"] if "cutoff" in group.columns else ["ds"])
        y = group["y"].to_numpy(dtype=np.float64) if "y" in group.columns else None
        for alias in aliases:
            blocks[(str(uid), alias)] = (group[_block_columns(alias)].to_numpy(dtype=np.float64), y)
    return blocks


def _run_isolated(
    call: Callable[[pd.DataFrame, list[Any], int], pd.DataFrame],
    frame: pd.DataFrame,
    models: Mapping[str, Any],
    n_jobs: int,
) -> tuple[Blocks, set[tuple[str, str]]]:
    """Runs `call` on all series and models at once; where that fails, model by model,
    and for a model that fails, series by series.

    Returns the blocks with finite values and the (series, model) pairs that
    failed or gave non-finite values.
    """
    aliases = list(models)
    blocks: Blocks = {}
    try:
        with _model_warnings():
            blocks = _split(call(frame, [model.new() for model in models.values()], n_jobs), aliases)
    except Exception:
        for alias, model in models.items():
            try:
                with _model_warnings():
                    blocks.update(_split(call(frame, [model.new()], n_jobs), [alias]))
                continue
            except Exception:
                pass
            for _, group in frame.groupby("unique_id", sort=False):
                try:
                    with _model_warnings():
                        blocks.update(_split(call(group, [model.new()], 1), [alias]))
                except Exception:
                    continue
    failed = {
        (str(uid), alias)
        for uid in frame["unique_id"].unique()
        for alias in aliases
        if (str(uid), alias) not in blocks or not np.all(np.isfinite(blocks[(str(uid), alias)][0]))
    }
    return {key: value for key, value in blocks.items() if key not in failed}, failed


def _statsforecast(models: list[Any], n_jobs: int) -> StatsForecast:
    return StatsForecast(models=models, freq=1, n_jobs=n_jobs)


def backtest(
    series: Mapping[str, FloatArray],
    h: int,
    season: int,
    windows: int = DEFAULT_WINDOWS,
    candidates: Sequence[str] = CANDIDATES,
    n_jobs: int = 1,
) -> dict[str, Backtest]:
    """Rolling-origin backtest of the seasonal naive and every candidate, per series.

    Series too short for even a one-period backtest (backtest_horizon() == 0)
    are left out of the result.
    """
    names = [BASELINE, *candidates]
    by_horizon: dict[int, dict[str, FloatArray]] = {}
    for uid, y in series.items():
        hb = backtest_horizon(len(y), h, season, windows)
        if hb > 0:
            by_horizon.setdefault(hb, {})[uid] = np.asarray(y, dtype=np.float64)

    results: dict[str, Backtest] = {}
    for hb, group in by_horizon.items():

        def call(frame: pd.DataFrame, models: list[Any], jobs: int, hb: int = hb) -> pd.DataFrame:
            return _statsforecast(models, jobs).cross_validation(
                h=hb, df=frame, n_windows=windows, step_size=hb, level=list(LEVELS), refit=False
            )

        blocks, failed = _run_isolated(
            call, _long_frame(group), {name: make_model(name, season) for name in names}, n_jobs
        )
        for uid, y in group.items():
            scale = seasonal_naive_scale(y[: len(y) - windows * hb], season)
            mae: dict[str, float] = {}
            mase: dict[str, float] = {}
            coverage: dict[str, dict[int, float]] = {}
            factors: dict[str, dict[int, float]] = {}
            kept: dict[str, FloatArray] = {}
            actual_points = np.asarray(y[len(y) - windows * hb :], dtype=np.float64)
            for name in names:
                if (uid, name) in failed:
                    mae[name], mase[name], coverage[name], factors[name] = math.inf, math.inf, {}, {}
                    continue
                values, actual = blocks[(uid, name)]
                assert actual is not None
                errors = np.abs(actual - values[:, 0])
                mae[name] = float(np.mean(errors))
                mase[name] = mae[name] / scale if scale > 0 else math.nan
                coverage[name] = {
                    level: float(np.mean((actual >= values[:, 1 + 2 * i]) & (actual <= values[:, 2 + 2 * i])))
                    for i, level in enumerate(LEVELS)
                }
                factors[name] = interval_factors(actual, values)
                kept[name] = values
            results[uid] = Backtest(
                horizon=hb,
                windows=windows,
                scale=scale,
                mae=mae,
                mase=mase,
                coverage=coverage,
                factors=factors,
                failed=tuple(name for name in names if (uid, name) in failed),
                values=kept,
                actual=actual_points,
            )
    return results


def forecast(
    series: Mapping[str, FloatArray],
    models: Mapping[str, str],
    h: int,
    season: int,
    n_jobs: int = 1,
) -> dict[str, ModelForecast]:
    """Fits each series' model (`models[uid]`) on the whole series and forecasts h periods.

    Only the chosen model is fitted per series. Where it fails, the seasonal
    naive forecast is used and labelled as such.
    """
    by_model: dict[str, dict[str, FloatArray]] = {}
    for uid, y in series.items():
        by_model.setdefault(models[uid], {})[uid] = np.asarray(y, dtype=np.float64)

    def call(frame: pd.DataFrame, fitted: list[Any], jobs: int) -> pd.DataFrame:
        return _statsforecast(fitted, jobs).forecast(h=h, df=frame, level=list(LEVELS))

    results: dict[str, ModelForecast] = {}
    retry: dict[str, FloatArray] = {}
    for name, group in by_model.items():
        blocks, failed = _run_isolated(call, _long_frame(group), {name: make_model(name, season)}, n_jobs)
        for uid in group:
            if (uid, name) in failed:
                retry[uid] = group[uid]
            else:
                results[uid] = ModelForecast(name, blocks[(uid, name)][0])
    if retry:
        blocks, failed = _run_isolated(call, _long_frame(retry), {BASELINE: make_model(BASELINE, season)}, 1)
        for uid in retry:
            if (uid, BASELINE) in failed:  # pragma: no cover - the seasonal naive does not fail on finite data
                raise RuntimeError(f"no model could forecast series {uid!r}")
            results[uid] = ModelForecast(BASELINE, blocks[(uid, BASELINE)][0])
    return results


@dataclass(frozen=True)
class Choice:
    """One series' backtest, the model it chose and that model's forecast."""

    chosen: str  # the backtest's winner (the seasonal naive where no backtest was possible)
    backtest: Backtest | None
    forecast: ModelForecast  # of `chosen`, or of the seasonal naive where `chosen` failed on the full history
    uncalibrated: ModelForecast  # `forecast` with the model's own interval widths


def select_and_forecast(
    series: Mapping[str, FloatArray],
    h: int,
    season: int,
    windows: int = DEFAULT_WINDOWS,
    n_jobs: int = 1,
    calibrate: bool = True,
    candidates: Sequence[str] = CANDIDATES,
) -> dict[str, Choice]:
    """Backtest, choose, fit the chosen model on the whole series and forecast h periods.

    With `calibrate`, the intervals are rescaled towards the factor that would
    have brought the chosen model's backtest coverage to each level (see
    interval_factors and rescale).
    """
    backtests = backtest(series, h, season, windows, candidates, n_jobs=n_jobs)
    chosen = {uid: choose(backtests[uid], candidates) if uid in backtests else BASELINE for uid in series}
    fitted = forecast(series, chosen, h, season, n_jobs=n_jobs)
    choices: dict[str, Choice] = {}
    for uid in series:
        own, bt = fitted[uid], backtests.get(uid)
        result = own
        if calibrate and bt is not None and bt.factors.get(own.model):
            result = ModelForecast(own.model, rescale(own.values, bt.factors[own.model]))
        choices[uid] = Choice(chosen=chosen[uid], backtest=bt, forecast=result, uncalibrated=own)
    return choices
