"""From the rollups to the forecast tables: demand forecasts and predicted customer value.

The one place where the models of this package meet the database
(docs/forecasting.md). A refresh reads its inputs, lets go of the database
while the models run (no transaction is held open), then replaces the
previous generation in one transaction: readers see the old results or the
new, never a mix. `run()` is what `pulse forecast run` does, and the server's
schedule runs that command in a subprocess (app/forecasts.py), so that the
event loop and the projections never wait for a model.

Demand. Bookings created and their gross revenue (totals at creation, in the
reporting currency, each amount converted at its hour's rate) per business
day, overall, per destination and per booking type, from the hourly rollup
(pulse.bookings_hourly_reported) for the last HISTORY_DAYS days up to
yesterday (today is not over). Each metric is one hierarchy for
`forecast_demand`: destinations add up to the total, and so do booking types.
Revenue is not forecast at all while some amount lacks an exchange rate (a
partial sum would look like a drop in demand); forecast_series says so.

Customer value. Every booking up to yesterday, per customer and business
day, valued at its net value (total at creation plus modifications minus
refunds, converted, as in analytics.customer_lifetime), goes through
`clv.rfm_summary` with weeks as the unit; BG/NBD and Gamma-Gamma are fitted on
every customer and predict the next 365 days.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from app.forecasting import clv
from core.sql import named_queries

if TYPE_CHECKING:
    from app.forecasting.demand import DemandForecast, Hierarchy

HISTORY_DAYS = 730
HORIZON = 90
METRICS = ("bookings", "revenue")
LEVELS = ("total", "destination", "booking_type")
KINDS = ("demand", "customer_value")
# Customer value: the prediction period, and the least data the models are fitted on.
PREDICTION_DAYS = 365
UNIT_DAYS = 7.0
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10


def queries() -> dict[str, Any]:
    return named_queries("forecasting.sql")


def series_id(metric: str, level: str, name: str | None = None) -> str:
    """bookings/total, bookings/destination/Lisbon, revenue/booking_type/hotel (a name may hold '/')."""
    return f"{metric}/{level}" if name is None else f"{metric}/{level}/{name}"


@dataclass(frozen=True)
class SeriesKey:
    series: str
    metric: str
    level: str
    destination: str | None
    booking_type: str | None


@dataclass
class DemandHistory:
    """What a demand refresh reads: daily series per metric, their hierarchy, and what cannot be forecast."""

    last_day: date
    history_days: int
    unit: dict[str, str]  # metric -> "bookings" or the currency code
    frames: dict[str, pd.DataFrame]  # metric -> unique_id, ds, y (days with bookings only)
    keys: dict[str, SeriesKey]  # every series, forecast or not
    first_days: dict[str, date]  # series -> first day with a booking
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> why it is not forecast

    @property
    def series_count(self) -> int:
        return len(self.keys)


class RefreshRefused(RuntimeError):
    """A refresh that must not run now (the bookings projection is failing); the message says why."""


def business_day(conn: psycopg.Connection[Any]) -> tuple[date, str]:
    """Today in the business time zone, and the reporting currency."""
    row = conn.execute(queries()["business_day"]).fetchone()
    assert row is not None, "analytics.settings has no row"
    return row[0], row[2]


def read_demand_history(
    conn: psycopg.Connection[Any], last_day: date, history_days: int = HISTORY_DAYS
) -> DemandHistory:
    """Daily bookings and gross revenue per destination and booking type from the rollup, summed per level."""
    _, currency = business_day(conn)
    first_day = last_day - timedelta(days=history_days - 1)
    rows = conn.execute(queries()["demand_history"], {"first_day": first_day, "last_day": last_day}).fetchall()
    frame = pd.DataFrame(rows, columns=["day", "destination", "booking_type", "bookings", "revenue", "missing_rates"])
    history = DemandHistory(
        last_day=last_day,
        history_days=history_days,
        unit={"bookings": "bookings", "revenue": currency},
        frames={},
        keys={},
        first_days={},
    )
    if frame.empty:
        return history
    frame["ds"] = pd.to_datetime(frame["day"])
    frame["bookings"] = frame["bookings"].astype(np.float64)
    frame["revenue"] = frame["revenue"].astype(np.float64)
    missing = sorted({c for rates in frame["missing_rates"] if rates for c in rates})
    if missing:
        history.skipped["revenue"] = (
            f"revenue not forecast: amounts in {', '.join(missing)} have no exchange rate to {currency} on some days "
            "(load them with pulse fx load); a partial sum would look like a fall in demand"
        )
    for metric in METRICS:
        parts = [_level(frame, metric, "total", None)]
        parts += [
            _level(frame, metric, "destination", "destination"),
            _level(frame, metric, "booking_type", "booking_type"),
        ]
        long = pd.concat(parts, ignore_index=True)
        for uid, group in long.groupby("unique_id", sort=False):
            history.first_days[str(uid)] = group["ds"].min().date()
        for uid, level, name in (
            long[["unique_id", "level", "name"]].drop_duplicates("unique_id").itertuples(index=False)
        ):
            history.keys[uid] = SeriesKey(
                series=uid,
                metric=metric,
                level=level,
                destination=name if level == "destination" else None,
                booking_type=name if level == "booking_type" else None,
            )
        if metric not in history.skipped:
            history.frames[metric] = long[["unique_id", "ds", "y"]]
    return history


def _level(frame: pd.DataFrame, metric: str, level: str, column: str | None) -> pd.DataFrame:
    if column is None:
        summed = frame.groupby("ds", as_index=False)[metric].sum()
        summed["name"] = None
        summed["unique_id"] = series_id(metric, level)
    else:
        summed = frame.groupby(["ds", column], as_index=False)[metric].sum().rename(columns={column: "name"})
        summed["unique_id"] = [series_id(metric, level, name) for name in summed["name"]]
    summed["level"] = level
    return summed.rename(columns={metric: "y"})


def hierarchies(history: DemandHistory) -> dict[str, Hierarchy]:
    """Per metric forecast: destinations and booking types each add up to the total."""
    from app.forecasting.demand import Hierarchy

    result: dict[str, Hierarchy] = {}
    for metric in history.frames:
        keys = [k for k in history.keys.values() if k.metric == metric]
        result[metric] = Hierarchy(
            total=series_id(metric, "total"),
            bottom=tuple(sorted(k.series for k in keys if k.level == "destination")),
            groups=(tuple(sorted(k.series for k in keys if k.level == "booking_type")),),
        )
    return result


def compute_demand(
    history: DemandHistory, horizon: int = HORIZON, n_jobs: int = 1, candidates: Sequence[str] | None = None
) -> dict[str, DemandForecast]:
    """Runs the forecasts of every metric that can be forecast: pure CPU work, no database."""
    from app.forecasting.demand import forecast_demand
    from app.forecasting.selection import CANDIDATES

    results: dict[str, DemandForecast] = {}
    for metric, hierarchy in hierarchies(history).items():
        results[metric] = forecast_demand(
            history.frames[metric],
            hierarchy,
            horizon,
            end=pd.Timestamp(history.last_day),
            n_jobs=n_jobs,
            candidates=tuple(candidates or CANDIDATES),
        )
    return results


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _series_rows(
    history: DemandHistory, results: Mapping[str, DemandForecast], generated_at: datetime
) -> Iterable[tuple[Any, ...]]:
    for key in history.keys.values():
        unit = history.unit[key.metric]
        first = history.first_days.get(key.series)
        result = results.get(key.metric)
        info = result.series.get(key.series) if result is not None else None
        if info is None:
            days = (history.last_day - first).days + 1 if first else 0
            reason = history.skipped.get(key.metric, "not forecast")
            yield (
                key.series, key.metric, key.level, key.destination, key.booking_type, unit, None, None, None,
                Jsonb({}), None, None, None, None, None, [], False, reason, first, days, 0, generated_at,
            )  # fmt: skip
            continue
        base = info.base_model
        yield (
            key.series,
            key.metric,
            key.level,
            key.destination,
            key.booking_type,
            unit,
            info.model,
            base,
            info.reconciliation,
            Jsonb({name: _finite(value) for name, value in info.mase.items()}),
            _finite(info.mase.get(base)) if base else None,
            _finite(info.mase.get("SeasonalNaive")),
            info.backtest_horizon,
            _finite(info.backtest_coverage.get(80)),
            _finite(info.backtest_coverage.get(95)),
            list(info.failed_models),
            info.too_short,
            info.reason,
            history.last_day - timedelta(days=info.history_days - 1) if info.history_days else None,
            info.history_days,
            info.zero_filled_days,
            generated_at,
        )


def _forecast_rows(
    history: DemandHistory, results: Mapping[str, DemandForecast], generated_at: datetime
) -> Iterable[tuple[Any, ...]]:
    for result in results.values():
        frame = result.forecasts
        days = [d.date() for d in pd.to_datetime(frame["day"])]
        values = frame[["forecast", "lo80", "hi80", "lo95", "hi95"]].to_numpy(dtype=np.float64)
        for series, model, day, row in zip(frame["series"], frame["model"], days, values, strict=True):
            key = history.keys[series]
            # Clipping and scaling can leave a bound a rounding error on the wrong side: nest them around the mean.
            mean = row[0]
            lo80, hi80 = min(row[1], mean), max(row[2], mean)
            lo95, hi95 = min(row[3], lo80), max(row[4], hi80)
            yield (
                series, key.metric, key.level, key.destination, key.booking_type, day, model,
                float(mean), float(lo80), float(hi80), float(lo95), float(hi95), generated_at,
            )  # fmt: skip


def demand_details(history: DemandHistory, results: Mapping[str, DemandForecast], horizon: int) -> dict[str, Any]:
    models: dict[str, int] = {}
    too_short: list[str] = []
    for result in results.values():
        for info in result.series.values():
            name = info.base_model or info.model
            models[name] = models.get(name, 0) + 1
            if info.too_short:
                too_short.append(info.series)
    return {
        "history_days": history.history_days,
        "horizon": horizon,
        "series": history.series_count,
        "models": dict(sorted(models.items())),
        "too_short": sorted(too_short),
        "not_forecast": dict(history.skipped),
        "compute_seconds": round(sum(r.seconds for r in results.values()), 3),
    }


def write_demand(
    conn: psycopg.Connection[Any],
    history: DemandHistory,
    results: Mapping[str, DemandForecast],
    generated_at: datetime,
    seconds: float,
    horizon: int = HORIZON,
) -> None:
    """Replaces the forecasts and their series with this generation, and records the run, in one transaction."""
    q = queries()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(q["clear_demand"])
        with cur.copy(q["copy_forecast_series"]) as copy:
            for row in _series_rows(history, results, generated_at):
                copy.write_row(row)
        with cur.copy(q["copy_demand_forecast"]) as copy:
            for row in _forecast_rows(history, results, generated_at):
                copy.write_row(row)
        cur.execute(
            q["record_run"],
            {
                "kind": "demand",
                "generated_at": generated_at,
                "history_to": history.last_day,
                "horizon_days": horizon,
                "items": history.series_count,
                "seconds": round(seconds, 3),
                "details": Jsonb(demand_details(history, results, horizon)),
            },
        )


@dataclass(frozen=True)
class Refreshed:
    """What one refresh did, for the command's output and the logs."""

    kind: str
    history_to: date
    items: int
    seconds: float
    summary: str


def _check_projection(conn: psycopg.Connection[Any]) -> None:
    from projections import BOOKINGS

    row = conn.execute(queries()["projection_error"], {"projection": BOOKINGS.checkpoint}).fetchone()
    if row is not None and row[0] is not None:
        raise RefreshRefused(
            f"the bookings projection is failing ({row[0]}): its figures stop short, so nothing is forecast from them"
        )


def refresh_demand(
    conn: psycopg.Connection[Any],
    last_day: date | None = None,
    *,
    horizon: int = HORIZON,
    history_days: int = HISTORY_DAYS,
    n_jobs: int = 1,
    candidates: Sequence[str] | None = None,
) -> Refreshed:
    """Reads, forecasts and writes the demand forecasts; `conn` must be in autocommit mode."""
    started, generated_at = time.perf_counter(), datetime.now(UTC)
    _check_projection(conn)
    if last_day is None:
        last_day = business_day(conn)[0] - timedelta(days=1)
    history = read_demand_history(conn, last_day, history_days)
    results = compute_demand(history, horizon, n_jobs, candidates) if history.frames else {}
    seconds = time.perf_counter() - started
    write_demand(conn, history, results, generated_at, seconds, horizon)
    details = demand_details(history, results, horizon)
    parts = [f"{history.series_count} series up to {last_day}, {horizon} days ahead"]
    if details["too_short"]:
        parts.append(f"{len(details['too_short'])} too short")
    parts += list(history.skipped.values())
    if not history.keys:
        parts.append("no bookings in the history: nothing to forecast")
    models = ", ".join(f"{name} {count}" for name, count in details["models"].items())
    return Refreshed(
        "demand",
        last_day,
        history.series_count,
        time.perf_counter() - started,
        "; ".join(parts) + (f"; models: {models}" if models else ""),
    )


def read_customer_purchases(conn: psycopg.Connection[Any], last_day: date) -> pd.DataFrame:
    """Per customer and business day up to last_day: net value of their bookings and whether a rate was missing."""
    rows = conn.execute(queries()["customer_purchases"], {"last_day": last_day}).fetchall()
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "value", "missing_rate"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["value"] = frame["value"].astype(np.float64)
    frame["missing_rate"] = frame["missing_rate"].astype(bool)
    return frame


@dataclass
class CustomerValues:
    """The fitted models and the per-customer predictions, or why there are none."""

    calibration_end: date
    summary: pd.DataFrame  # clv.rfm_summary, plus missing_rate
    purchases: clv.BetaGeoParams | None
    spend: clv.GammaGammaParams | None
    predictions: pd.DataFrame  # p_alive, expected_transactions, expected_spend, expected_value (NaN: unknown)
    reasons: list[str]

    def details(self) -> dict[str, Any]:
        def params(fitted: Any, names: Sequence[str]) -> dict[str, Any] | None:
            if fitted is None:
                return None
            values = {name: float(getattr(fitted, name)) for name in names}
            return values | {"log_likelihood": fitted.log_likelihood, "customers": fitted.customers}

        return {
            "unit_days": UNIT_DAYS,
            "calibration_end": self.calibration_end.isoformat(),
            "prediction_days": PREDICTION_DAYS,
            "customers": len(self.summary),
            "repeat_customers": int((self.summary["frequency"] > 0).sum()) if len(self.summary) else 0,
            "bgnbd": params(self.purchases, ("r", "alpha", "a", "b")),
            "gamma_gamma": params(self.spend, ("p", "q", "v")),
            "frequency_spend_correlation": _finite(clv.frequency_spend_correlation(self.summary))
            if len(self.summary)
            else None,
            "reasons": self.reasons,
        }


# Beyond this, (a + b + x - 1) / (a - 1) times a difference from 1 loses every digit (equation 10).
MAX_BGNBD_AMPLIFICATION = 1e8


def implausible_bgnbd(
    params: clv.BetaGeoParams, summary: pd.DataFrame, predictions: pd.DataFrame, periods: float
) -> str | None:
    """Why the fitted BG/NBD cannot be trusted to predict, or None.

    A fit can run to a boundary of the parameter space: with no customer who
    has visibly dropped out, a -> 0 and b -> infinity (nobody ever drops out),
    where equation (10) subtracts two nearly equal numbers and multiplies the
    difference by (a + b + x - 1) / (a - 1), some 1e17: its digits are noise.
    Such fits are refused, as is any prediction that is not finite or breaks
    what the model itself bounds: 0 <= P(alive) <= 1 and 0 <= E[X] <= P(alive)
    x (r + x) / (alpha + T) x t (the expected purchases at the posterior mean
    rate, had the customer no chance to drop out).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    fitted = f"the BG/NBD fit (r={r:.4g}, alpha={alpha:.4g}, a={a:.4g}, b={b:.4g})"
    x = summary["frequency"].to_numpy(dtype=np.float64)
    if abs(a - 1.0) < 1e-9 or (a + b + x.max()) / abs(a - 1.0) > MAX_BGNBD_AMPLIFICATION:
        return f"{fitted} ran to a limit where its predictions cannot be computed (no dropout is visible yet)"
    alive = predictions["p_alive"].to_numpy(dtype=np.float64)
    expected = predictions["expected_transactions"].to_numpy(dtype=np.float64)
    bound = alive * (r + x) / (alpha + summary["T"].to_numpy(dtype=np.float64)) * periods
    bad = (
        ~np.isfinite(alive)
        | ~np.isfinite(expected)
        | (alive < 0)
        | (alive > 1)
        | (expected < -1e-9)
        | (expected > bound * (1 + 1e-6) + 1e-9)
    )
    if bad.any():
        return f"{fitted} gives {int(bad.sum())} predictions outside what the model allows"
    return None


def compute_customer_values(
    purchases: pd.DataFrame, calibration_end: date, observation_end: date | None = None
) -> CustomerValues:
    """Fits BG/NBD and Gamma-Gamma on the purchases up to calibration_end; predicts the next 365 days.

    With observation_end, the summary also holds each customer's hold-out
    purchases (clv.rfm_summary), for validation.
    """
    cal_end = pd.Timestamp(calibration_end)
    if purchases.empty:
        summary = pd.DataFrame(columns=["frequency", "recency", "T", "monetary_value", "missing_rate"])
        return CustomerValues(calibration_end, summary, None, None, pd.DataFrame(), ["no bookings: nothing to predict"])
    summary = clv.rfm_summary(
        purchases,
        cal_end,
        None if observation_end is None else pd.Timestamp(observation_end),
        unit_days=UNIT_DAYS,
    )
    calibration = purchases[purchases["date"] <= cal_end]
    summary["missing_rate"] = calibration.groupby("customer_id")["missing_rate"].any().reindex(summary.index)
    summary["missing_rate"] = summary["missing_rate"].fillna(False).astype(bool)
    reasons: list[str] = []
    repeat = int((summary["frequency"] > 0).sum())
    if len(summary) < MIN_CUSTOMERS or repeat < MIN_REPEAT_CUSTOMERS:
        reasons.append(
            f"{len(summary)} customers, {repeat} with repeat bookings: BG/NBD needs at least {MIN_CUSTOMERS} "
            f"customers and {MIN_REPEAT_CUSTOMERS} with repeat bookings, so no customer is predicted yet"
        )
        return CustomerValues(calibration_end, summary, None, None, pd.DataFrame(), reasons)
    try:
        bgnbd = clv.fit_bgnbd(summary)
    except (RuntimeError, ValueError, FloatingPointError) as error:
        reasons.append(f"the BG/NBD fit failed ({error}): no customer is predicted")
        return CustomerValues(calibration_end, summary, None, None, pd.DataFrame(), reasons)
    periods = PREDICTION_DAYS / UNIT_DAYS
    predictions = pd.DataFrame(index=summary.index)
    with np.errstate(all="ignore"):
        predictions["p_alive"] = clv.probability_alive(bgnbd, summary)
        predictions["expected_transactions"] = clv.expected_transactions(bgnbd, summary, periods)
    degenerate = implausible_bgnbd(bgnbd, summary, predictions, periods)
    if degenerate:
        reasons.append(f"{degenerate}: no customer is predicted")
        return CustomerValues(calibration_end, summary, bgnbd, None, pd.DataFrame(), reasons)
    predictions["expected_spend"] = np.nan
    predictions["expected_value"] = np.nan
    known = summary[~summary["missing_rate"]]
    spenders = int(((known["frequency"] > 0) & (known["monetary_value"] > 0)).sum())
    gamma_gamma: clv.GammaGammaParams | None = None
    if spenders < MIN_REPEAT_CUSTOMERS:
        reasons.append(
            f"{spenders} customers with valued repeat bookings: Gamma-Gamma needs {MIN_REPEAT_CUSTOMERS}, "
            "so no value is predicted"
        )
    else:
        try:
            gamma_gamma = clv.fit_gamma_gamma(known)
        except (RuntimeError, ValueError, FloatingPointError) as error:
            reasons.append(f"the Gamma-Gamma fit failed ({error}): no value is predicted")
        if gamma_gamma is not None and gamma_gamma.q <= 1:
            reasons.append(
                f"Gamma-Gamma q = {gamma_gamma.q:.3f} <= 1: the mean spend is unbounded, no value is predicted"
            )
            gamma_gamma = None
    if gamma_gamma is not None:
        spend = clv.expected_spend(gamma_gamma, known)
        predictions.loc[known.index, "expected_spend"] = spend
        predictions.loc[known.index, "expected_value"] = predictions.loc[known.index, "expected_transactions"] * spend
    if summary["missing_rate"].any():
        reasons.append(
            f"{int(summary['missing_rate'].sum())} customers have amounts without an exchange rate: no value for them"
        )
    return CustomerValues(calibration_end, summary, bgnbd, gamma_gamma, predictions, reasons)


def _money(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


def _prediction_rows(values: CustomerValues, currency: str, generated_at: datetime) -> Iterable[tuple[Any, ...]]:
    summary, predictions = values.summary, values.predictions
    columns = zip(
        summary.index,
        predictions["p_alive"],
        predictions["expected_transactions"],
        predictions["expected_value"],
        predictions["expected_spend"],
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        summary["missing_rate"],
        strict=True,
    )
    for customer, alive, bookings, value, spend, x, t_x, big_t, mean, missing in columns:
        yield (
            str(customer),
            min(max(float(alive), 0.0), 1.0),
            max(float(bookings), 0.0),
            _money(value),
            _money(spend),
            int(x),
            float(t_x),
            float(big_t),
            None if missing else _money(mean),
            currency,
            values.calibration_end,
            generated_at,
        )


def write_customer_values(
    conn: psycopg.Connection[Any], values: CustomerValues, currency: str, generated_at: datetime, seconds: float
) -> int:
    """Replaces the predictions with this generation and records the run, in one transaction; the rows written."""
    q = queries()
    written = len(values.predictions)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(q["clear_customer_prediction"])
        if written:
            with cur.copy(q["copy_customer_prediction"]) as copy:
                for row in _prediction_rows(values, currency, generated_at):
                    copy.write_row(row)
        cur.execute(
            q["record_run"],
            {
                "kind": "customer_value",
                "generated_at": generated_at,
                "history_to": values.calibration_end,
                "horizon_days": PREDICTION_DAYS,
                "items": written,
                "seconds": round(seconds, 3),
                "details": Jsonb(values.details()),
            },
        )
    return written


def refresh_customer_values(conn: psycopg.Connection[Any], last_day: date | None = None) -> Refreshed:
    """Reads the purchases, fits, predicts and writes analytics.customer_prediction; `conn` in autocommit mode."""
    started, generated_at = time.perf_counter(), datetime.now(UTC)
    _check_projection(conn)
    today, currency = business_day(conn)
    if last_day is None:
        last_day = today - timedelta(days=1)
    values = compute_customer_values(read_customer_purchases(conn, last_day), last_day)
    written = write_customer_values(conn, values, currency, generated_at, time.perf_counter() - started)
    parts = [f"{written} customers predicted from bookings up to {last_day}"]
    if values.purchases is not None:
        p = values.purchases
        parts.append(f"BG/NBD r={p.r:.3f} alpha={p.alpha:.3f} a={p.a:.3f} b={p.b:.3f}")
    if values.spend is not None:
        s = values.spend
        parts.append(f"Gamma-Gamma p={s.p:.3f} q={s.q:.3f} v={s.v:.3f}")
    parts += values.reasons
    return Refreshed("customer_value", last_day, written, time.perf_counter() - started, "; ".join(parts))


class Busy(RuntimeError):
    """Another refresh holds the lock."""


def due_kinds(conn: psycopg.Connection[Any], kinds: Sequence[str], older_than: float | None) -> list[str]:
    """The kinds whose latest refresh is older than `older_than` seconds (all of them when None)."""
    if older_than is None:
        return list(kinds)
    now = conn.execute("select now()").fetchone()
    assert now is not None
    latest = {
        row["kind"]: row["generated_at"] for row in conn.cursor(row_factory=dict_row).execute(queries()["latest_runs"])
    }
    cutoff = now[0] - timedelta(seconds=older_than)
    return [kind for kind in kinds if latest.get(kind) is None or latest[kind] < cutoff]


def run(
    conn: psycopg.Connection[Any],
    kinds: Sequence[str] = KINDS,
    *,
    last_day: date | None = None,
    older_than: float | None = None,
    n_jobs: int = 1,
    candidates: Sequence[str] | None = None,
) -> list[Refreshed]:
    """`pulse forecast run`: under the refresh lock, refreshes each kind that is due.

    `conn` is an autocommit connection (as the projector). Raises Busy when
    another refresh holds the lock, RefreshRefused when the bookings
    projection is failing.
    """
    q = queries()
    locked = conn.execute(q["try_lock"]).fetchone()
    if not locked or not locked[0]:
        raise Busy("another forecast refresh is running")
    try:
        done: list[Refreshed] = []
        for kind in due_kinds(conn, kinds, older_than):
            if kind == "demand":
                done.append(refresh_demand(conn, last_day, n_jobs=n_jobs, candidates=candidates))
            else:
                done.append(refresh_customer_values(conn, last_day))
        return done
    finally:
        conn.execute(q["unlock"])
