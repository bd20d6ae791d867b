"""Forecast accuracy measures, on plain arrays."""

from __future__ import annotations

import math

import numpy as np

from app.forecasting.selection import FloatArray, seasonal_naive_scale


def mase(actual: FloatArray, predicted: FloatArray, train: FloatArray, season: int) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006).

    The MAE of the forecast divided by the in-sample MAE of the seasonal naive
    forecast of period `season` on the training data; NaN where that is 0.
    """
    scale = seasonal_naive_scale(train, season)
    error = float(np.mean(np.abs(actual - predicted)))
    return error / scale if scale > 0 else math.nan


def smape(actual: FloatArray, predicted: FloatArray) -> float:
    """Symmetric MAPE in percent (0..200): mean of 2|a - p| / (|a| + |p|); a point where both are 0 counts as 0."""
    numerator = 2.0 * np.abs(actual - predicted)
    denominator = np.abs(actual) + np.abs(predicted)
    ratios = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
    return float(100.0 * np.mean(ratios))


def coverage(actual: FloatArray, lower: FloatArray, upper: FloatArray) -> float:
    """Share of the actual values inside [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper)))
