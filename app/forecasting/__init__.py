"""Forecasting: daily demand per series with model choice by backtest, and predicted customer value.

Pure computation on pandas/numpy inputs, except `store`, which reads the
rollups and writes the analytics tables (docs/forecasting.md).
"""
