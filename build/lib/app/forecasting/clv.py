"""Predicted customer value: BG/NBD for repeat purchases, Gamma-Gamma for spend.

Models
  * BG/NBD, Fader, Hardie & Lee (2005), "Counting your customers the easy way:
    an alternative to the Pareto/NBD model", Marketing Science 24(2):275-284.
    While alive, a customer buys at Poisson rate lambda ~ Gamma(r, alpha);
    after each purchase they drop out with probability p ~ Beta(a, b).
  * Gamma-Gamma, Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value
    curves for customer base analysis", Journal of Marketing Research 42(4),
    and Fader & Hardie's note "The Gamma-Gamma model of monetary value" (2013).

Implementation choice. Both are fitted here by maximum likelihood with
scipy.optimize (log-likelihoods from the papers, written with
scipy.special.gammaln and hyp2f1), about a hundred lines, instead of a library:
`lifetimes` has been unmaintained since 2020, pulls in autograd and dill, and
warns on import with current pandas (which `filterwarnings = error` turns into
a failure); its successor `btyd` is a 2022 beta; `pymc-marketing` would bring
PyMC and its compiler stack for two closed-form likelihoods. The fit is checked
against the published CDNOW parameters in tests/test_forecasting_clv.py.

Definitions (explicit, as the models need them)
  * Transactions are first reduced to purchase days: several transactions of a
    customer on one calendar day are one purchase, their values summed.
  * Only customers whose first purchase is on or before the calibration end are
    in the summary (the cohort the models describe).
  * frequency: number of purchase days after the first one, up to and
    including the calibration end (repeat purchases, x in the papers).
  * recency: time from the first to the last purchase day in the calibration
    period (t_x; 0 for a customer without repeat purchases).
  * T: time from the first purchase day to the calibration end day (the
    calibration end day counts as time 0 of the day after, so a first purchase
    on 1997-01-01 with calibration end 1997-09-30 has T = 272 days).
  * Times are in units of `unit_days` days: 7 (weeks, default, as in the
    papers) or 1 (days). Predictions for "the next 12 months" use
    365 / unit_days periods.
  * monetary_value: mean value of the repeat purchase days in the calibration
    period (the first purchase excluded, as in the Gamma-Gamma papers); 0 for a
    customer without repeat purchases.

Valuing customers. expected_value = expected number of purchases in the next
`periods` (BG/NBD, conditional on the customer's history) x expected value per
purchase (Gamma-Gamma, conditional on their repeat purchases). A one-time buyer
(frequency 0) has no repeat spend to go on: the Gamma-Gamma conditional mean
then equals the population mean spend per purchase, p * v / (q - 1), and that
is what they are valued at. Values are not discounted. The Gamma-Gamma model
assumes spend is independent of frequency; `frequency_spend_correlation` tells
how far that holds for a data set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from app.forecasting.selection import FloatArray

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class BetaGeoParams:
    """Fitted BG/NBD parameters; alpha is in units of `unit_days` days."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    unit_days: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (`v` is gamma in the papers)."""

    p: float
    q: float
    v: float
    log_likelihood: float
    customers: int

    @property
    def mean_spend(self) -> float:
        """Population mean value per purchase, p v / (q - 1); infinite where q <= 1."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else math.inf


def rfm_summary(
    transactions: pd.DataFrame,
    calibration_end: pd.Timestamp | str,
    observation_end: pd.Timestamp | str | None = None,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str = "value",
    unit_days: float = 7.0,
) -> pd.DataFrame:
    """One row per customer (index: customer id): frequency, recency, T, monetary_value, first_purchase.

    With `observation_end`, also the hold-out period (calibration_end, observation_end]:
    holdout_frequency (purchase days), holdout_value (their total value) and
    holdout_duration (its length, in units).
    """
    missing = {customer_col, date_col, value_col} - set(transactions.columns)
    if missing:
        raise ValueError(f"transactions lack columns: {', '.join(sorted(missing))}")
    if unit_days <= 0:
        raise ValueError("unit_days must be positive")
    cal_end = pd.Timestamp(calibration_end).normalize()
    obs_end = None if observation_end is None else pd.Timestamp(observation_end).normalize()
    if obs_end is not None and obs_end <= cal_end:
        raise ValueError("observation_end must be after calibration_end")

    days = pd.DataFrame(
        {
            "customer": transactions[customer_col].to_numpy(),
            "day": pd.to_datetime(transactions[date_col]).dt.normalize().to_numpy(),
            "value": pd.to_numeric(transactions[value_col]).to_numpy(dtype=np.float64),
        }
    )
    days = days.groupby(["customer", "day"], as_index=False, sort=True)["value"].sum()
    first = days.groupby("customer")["day"].min().rename("first_purchase")
    first = first[first <= cal_end]
    days = days[days["customer"].isin(first.index)]
    days = days.join(first, on="customer")

    calibration = days[days["day"] <= cal_end]
    repeat = calibration[calibration["day"] > calibration["first_purchase"]]
    unit = pd.Timedelta(days=unit_days)
    summary = pd.DataFrame(index=first.index)
    summary.index.name = customer_col
    summary["frequency"] = repeat.groupby("customer").size().reindex(first.index, fill_value=0).astype(np.int64)
    last = calibration.groupby("customer")["day"].max().reindex(first.index)
    summary["recency"] = (last - first) / unit
    summary["T"] = (cal_end - first) / unit
    summary["monetary_value"] = repeat.groupby("customer")["value"].mean().reindex(first.index, fill_value=0.0)
    summary["first_purchase"] = first
    if obs_end is not None:
        holdout = days[(days["day"] > cal_end) & (days["day"] <= obs_end)]
        summary["holdout_frequency"] = holdout.groupby("customer").size().reindex(first.index, fill_value=0)
        summary["holdout_value"] = holdout.groupby("customer")["value"].sum().reindex(first.index, fill_value=0.0)
        summary["holdout_duration"] = (obs_end - cal_end) / unit
    summary.attrs["unit_days"] = unit_days
    return summary


def _columns(summary: pd.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = summary["frequency"].to_numpy(dtype=np.float64)
    t_x = summary["recency"].to_numpy(dtype=np.float64)
    big_t = summary["T"].to_numpy(dtype=np.float64)
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > big_t) or np.any((x > 0) & (t_x <= 0)):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T, with recency > 0 where frequency > 0")
    return x, t_x, big_t


def bgnbd_log_likelihood(
    params: tuple[float, float, float, float], x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood, equation (6) of Fader, Hardie & Lee (2005)."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1.0) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    result: FloatArray = a1 + a2 + np.logaddexp(a3, a4)
    return result


def fit_bgnbd(summary: pd.DataFrame, unit_days: float | None = None) -> BetaGeoParams:
    """Maximum-likelihood BG/NBD fit on an RFM summary.

    `unit_days` is the unit of recency and T, by default the one rfm_summary() used.
    """
    if unit_days is None:
        unit_days = float(summary.attrs.get("unit_days", 7.0))
    x, t_x, big_t = _columns(summary)
    if len(x) == 0:
        raise ValueError("no customers to fit")
    # Identical (x, t_x, T) rows share a likelihood: fit on the distinct ones, weighted.
    distinct, counts = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_counts=True)
    dx, dtx, dT = distinct[:, 0], distinct[:, 1], distinct[:, 2]
    weights = counts.astype(np.float64)
    # alpha scales with the unit of time: start it at the mean T.
    start = np.log([1.0, max(float(np.mean(big_t)), 1e-3), 1.0, 1.0])

    def objective(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(log_params)
        ll = bgnbd_log_likelihood((r, alpha, a, b), dx, dtx, dT)
        return -float(np.dot(weights, ll)) / len(x)

    result = minimize(objective, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20000})
    result = minimize(objective, result.x, method="L-BFGS-B")
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    if not all(math.isfinite(v) for v in (r, alpha, a, b)):
        raise RuntimeError("the BG/NBD fit did not converge")
    return BetaGeoParams(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=-float(result.fun) * len(x),
        customers=len(x),
        unit_days=unit_days,
    )


def probability_alive(params: BetaGeoParams, summary: pd.DataFrame) -> FloatArray:
    """P(alive | x, t_x, T), equation (11) of Fader, Hardie & Lee (2005); 1 for customers without repeats."""
    x, t_x, big_t = _columns(summary)
    return 1.0 / (1.0 + _dropout_odds(params, x, t_x, big_t))


def _dropout_odds(params: BetaGeoParams, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    """delta(x > 0) a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)."""
    odds = np.zeros_like(x)
    repeat = x > 0
    xr = x[repeat]
    log_odds = (
        math.log(params.a)
        - np.log(params.b + xr - 1.0)
        + (params.r + xr) * (np.log(params.alpha + big_t[repeat]) - np.log(params.alpha + t_x[repeat]))
    )
    odds[repeat] = np.exp(log_odds)
    return odds


def expected_transactions(params: BetaGeoParams, summary: pd.DataFrame, periods: float) -> FloatArray:
    """E[purchases in (T, T + periods] | x, t_x, T], equation (10) of Fader, Hardie & Lee (2005)."""
    x, t_x, big_t = _columns(summary)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = periods / (alpha + big_t + periods)
    ratio = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + periods)))
    numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - ratio * hyp2f1(r + x, b + x, a + b + x - 1.0, z))
    result: FloatArray = numerator / (1.0 + _dropout_odds(params, x, t_x, big_t))
    return result


def expected_transactions_new_customer(params: BetaGeoParams, periods: float) -> float:
    """E[X(t)] for a customer just acquired, equation (9) of Fader, Hardie & Lee (2005)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = periods / (alpha + periods)
    bracket = 1.0 - (alpha / (alpha + periods)) ** r * hyp2f1(r, b, a + b - 1.0, z)
    return float((a + b - 1.0) / (a - 1.0) * bracket)


def gamma_gamma_log_likelihood(params: tuple[float, float, float], x: FloatArray, m: FloatArray) -> FloatArray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m over x purchases."""
    p, q, v = params
    px = p * x
    result: FloatArray = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + x * m)
    )
    return result


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma fit on the customers with repeat purchases and positive mean spend."""
    use = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    x = summary.loc[use, "frequency"].to_numpy(dtype=np.float64)
    m = summary.loc[use, "monetary_value"].to_numpy(dtype=np.float64)
    if len(x) < 2:
        raise ValueError("need at least two customers with repeat purchases to fit the Gamma-Gamma model")
    start = np.log([1.0, 1.0, max(float(np.mean(m)), 1e-6)])

    def objective(log_params: FloatArray) -> float:
        p, q, v = np.exp(log_params)
        return -float(np.sum(gamma_gamma_log_likelihood((p, q, v), x, m))) / len(x)

    result = minimize(objective, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20000})
    result = minimize(objective, result.x, method="L-BFGS-B")
    p, q, v = (float(value) for value in np.exp(result.x))
    if not all(math.isfinite(value) for value in (p, q, v)):
        raise RuntimeError("the Gamma-Gamma fit did not converge")
    return GammaGammaParams(p=p, q=q, v=v, log_likelihood=-float(result.fun) * len(x), customers=len(x))


def expected_spend(params: GammaGammaParams, summary: pd.DataFrame) -> FloatArray:
    """E[value per purchase | mean repeat spend, frequency] = p (v + x m) / (p x + q - 1).

    For a customer without repeat purchases (x = 0) this is the population mean p v / (q - 1).
    """
    x = summary["frequency"].to_numpy(dtype=np.float64)
    m = summary["monetary_value"].to_numpy(dtype=np.float64)
    result: FloatArray = params.p * (params.v + x * m) / (params.p * x + params.q - 1.0)
    return result


def frequency_spend_correlation(summary: pd.DataFrame) -> float:
    """Pearson correlation of frequency and mean spend among repeat customers (near 0 for Gamma-Gamma)."""
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) < 2:
        return math.nan
    return float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])


def predict_customer_value(
    summary: pd.DataFrame,
    purchases: BetaGeoParams,
    spend: GammaGammaParams,
    periods: float | None = None,
) -> pd.DataFrame:
    """Per customer: p_alive, expected_transactions and expected_value over the next `periods`.

    `periods` defaults to 12 months (365 days in the summary's unit). expected_spend
    is the expected value per purchase; expected_value = expected_transactions x
    expected_spend, undiscounted.
    """
    if periods is None:
        periods = DAYS_PER_YEAR / purchases.unit_days
    result = pd.DataFrame(index=summary.index)
    result["p_alive"] = probability_alive(purchases, summary)
    result["expected_transactions"] = expected_transactions(purchases, summary, periods)
    result["expected_spend"] = expected_spend(spend, summary)
    result["expected_value"] = result["expected_transactions"] * result["expected_spend"]
    return result
