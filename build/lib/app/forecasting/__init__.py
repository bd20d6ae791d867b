"""Forecasting: daily demand per series with model choice by backtest, and predicted customer value.

Pure computation on pandas/numpy inputs; nothing here touches the database or
the rest of the app.
"""
