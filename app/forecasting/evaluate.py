"""`pulse forecast evaluate --csv FILE`: how well would the demand forecast have done on this series?

Reads a CSV with columns `ds,y` (ISO 8601 dates, numbers), holds out the last
`horizon` points, chooses a model exactly as the demand forecasts do -- a
rolling-origin backtest inside the training part only, so nothing of the
held-out points is seen -- fits it on the training part, forecasts the held-out
points and scores them: MASE (scaled by the in-sample seasonal naive MAE of
period `season` on the training part), sMAPE (percent, 0..200) and the share of
held-out points inside the 80 % and 95 % intervals (rescaled by the backtest as
in the demand forecasts); the seasonal naive forecast is scored beside it.

The rows are taken in date order. Dates must be evenly spaced (daily, weekly,
monthly, ... as pandas can infer); where the spacing is a whole number of the
smallest step (daily data with missing days), the missing periods count as 0,
as in the demand forecasts. Where the training part has no negative value,
forecasts and bounds are clipped at 0, as in the demand forecasts.

Bad input gives a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from app.forecasting.metrics import coverage, mase, smape
from app.forecasting.selection import (
    BASELINE,
    CANDIDATES,
    DEFAULT_WINDOWS,
    FloatArray,
    forecast,
    select_and_forecast,
)

SERIES = "series"


class InputError(ValueError):
    """The input cannot be evaluated; the message is one line for the user."""


@dataclass(frozen=True)
class Evaluation:
    model: str
    mase: float
    smape: float
    coverage_80: float
    coverage_95: float
    naive_mase: float
    naive_smape: float
    n_train: int
    horizon: int
    season: int
    backtest_horizon: int
    backtest_mase: dict[str, float]
    zero_filled: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `pulse forecast evaluate --json`; an undefined MASE (a scale of 0) is null."""
        return {
            "model": self.model,
            "mase": _finite(self.mase),
            "smape": _finite(self.smape),
            "coverage_80": self.coverage_80,
            "coverage_95": self.coverage_95,
            "seasonal_naive": {"mase": _finite(self.naive_mase), "smape": _finite(self.naive_smape)},
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def min_training(season: int) -> int:
    """The fewest training points: four seasons, and room for a backtest of one period per window."""
    return max(4 * season, 2 * season + DEFAULT_WINDOWS)


def read_series(path: str | Path) -> tuple[FloatArray, int]:
    """The values of a `ds,y` CSV in date order, and how many missing periods were filled with 0."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(f"{path}: cannot read as CSV: {_one_line(error)}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in ("ds", "y") if column not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (need ds,y)")
    if frame.empty:
        raise InputError(f"{path}: no rows")
    values = pd.to_numeric(frame["y"].str.strip(), errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{path}: y is not a finite number on line {row + 2}: {frame['y'].iloc[row]!r}")
    dates = pd.to_datetime(frame["ds"].str.strip(), format="ISO8601", errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise InputError(f"{path}: ds is not an ISO 8601 date on line {row + 2}: {frame['ds'].iloc[row]!r}")
    if dates.dt.tz is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    series = pd.Series(values.to_numpy(dtype=np.float64), index=pd.DatetimeIndex(dates)).sort_index()
    if series.index.has_duplicates:
        raise InputError(f"{path}: more than one row for {series.index[series.index.duplicated()][0].date()}")
    return _evenly_spaced(series, path)


def _evenly_spaced(series: pd.Series, path: str | Path) -> tuple[FloatArray, int]:
    if len(series) < 3 or pd.infer_freq(series.index) is not None:
        return series.to_numpy(dtype=np.float64), 0
    steps = np.diff(series.index.asi8)
    step = int(steps.min())
    if np.all(steps % step == 0):
        full = pd.date_range(series.index[0], series.index[-1], freq=pd.Timedelta(step, unit="ns"))
        filled = series.reindex(full, fill_value=0.0)
        return filled.to_numpy(dtype=np.float64), len(full) - len(series)
    raise InputError(f"{path}: ds is not evenly spaced (and the gaps are not whole steps of the smallest one)")


def evaluate_series(y: FloatArray, season: int, horizon: int, zero_filled: int = 0) -> Evaluation:
    """Holds out the last `horizon` points of y, chooses and fits on the rest, and scores."""
    if season < 1:
        raise InputError(f"season must be at least 1, got {season}")
    if horizon < 1:
        raise InputError(f"horizon must be at least 1, got {horizon}")
    n_train = len(y) - horizon
    if n_train < min_training(season):
        raise InputError(
            f"too few rows: {len(y)} points; need at least {min_training(season) + horizon} "
            f"({min_training(season)} for training with season {season}, plus the {horizon} held out)"
        )
    train, actual = y[:n_train], y[n_train:]
    choice = select_and_forecast({SERIES: train}, horizon, season)[SERIES]
    assert choice.backtest is not None  # min_training leaves room for a backtest
    naive = forecast({SERIES: train}, {SERIES: BASELINE}, horizon, season)[SERIES]
    values, naive_values = choice.forecast.values, naive.values
    if np.all(train >= 0):
        values, naive_values = np.clip(values, 0.0, None), np.clip(naive_values, 0.0, None)
    return Evaluation(
        model=choice.forecast.model,
        mase=mase(actual, values[:, 0], train, season),
        smape=smape(actual, values[:, 0]),
        coverage_80=coverage(actual, values[:, 1], values[:, 2]),
        coverage_95=coverage(actual, values[:, 3], values[:, 4]),
        naive_mase=mase(actual, naive_values[:, 0], train, season),
        naive_smape=smape(actual, naive_values[:, 0]),
        n_train=n_train,
        horizon=horizon,
        season=season,
        backtest_horizon=choice.backtest.horizon,
        backtest_mase=dict(choice.backtest.mase),
        zero_filled=zero_filled,
    )


def evaluate_csv(path: str | Path, season: int, horizon: int) -> dict[str, Any]:
    """The `--json` object for a `ds,y` CSV; raises InputError on bad input."""
    y, zero_filled = read_series(path)
    return evaluate_series(y, season, horizon, zero_filled).as_dict()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _number(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def format_table(evaluation: Evaluation, source: str) -> str:
    e = evaluation
    lines = [
        f"{source}: {e.n_train + e.horizon} points ({e.n_train} for training, the last {e.horizon} held out), "
        f"season {e.season}" + (f", {e.zero_filled} missing periods counted as 0" if e.zero_filled else ""),
        f"model chosen by a {DEFAULT_WINDOWS}-window backtest of {e.backtest_horizon} periods on the training part: "
        f"{e.model}",
        "backtest MASE: "
        + ", ".join(f"{name} {_number(e.backtest_mase.get(name, math.nan))}" for name in (BASELINE, *CANDIDATES)),
        "",
        f"{'on the held-out points':<24}{'MASE':>8}{'sMAPE %':>10}{'in 80 %':>10}{'in 95 %':>10}",
        f"{e.model:<24}{_number(e.mase):>8}{_number(e.smape, 1):>10}{e.coverage_80:>10.0%}{e.coverage_95:>10.0%}",
        f"{BASELINE:<24}{_number(e.naive_mase):>8}{_number(e.naive_smape, 1):>10}",
    ]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def build_parser(prog: str = "pulse forecast evaluate") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Backtest the demand forecast on a ds,y CSV: hold out the last H points.")
    parser.add_argument("--csv", metavar="FILE", help="a CSV file with columns ds (ISO 8601 date) and y (number)")
    parser.add_argument("csv_file", nargs="?", metavar="FILE", help="the same, given without --csv")
    parser.add_argument("--season", type=int, default=7, help="seasonal period in rows (default 7: weekly, daily data)")
    parser.add_argument("--horizon", type=int, default=28, help="points held out and forecast (default 28)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; 0 on success, 2 on bad input, 1 if the models themselves failed."""
    try:
        args = build_parser().parse_args(argv)
        if args.csv and args.csv_file and args.csv != args.csv_file:
            raise InputError(f"two CSV files given ({args.csv_file} and --csv {args.csv}): evaluate one at a time")
        path = args.csv or args.csv_file
        if not path:
            raise InputError("no CSV file: give one with --csv FILE")
        y, zero_filled = read_series(path)
        evaluation = evaluate_series(y, args.season, args.horizon, zero_filled)
    except InputError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    except Exception as error:
        print(f"error: forecasting failed: {_one_line(error)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(evaluation.as_dict(), allow_nan=False))
    else:
        print(format_table(evaluation, str(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
