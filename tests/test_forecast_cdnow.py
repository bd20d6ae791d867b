"""Predicted customer value against a published result, through the public write path.

The CDNOW sample (2,357 customers, 6,919 transactions, 1997-01-01 to
1998-06-30) goes in as booking.created events through POST /v1/events, the
projections fold them, and the refresh computes the predictions from the
database as the product does. Fader, Hardie and Lee (2005) fit BG/NBD on the
39-week calibration period: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426;
over the 39 weeks after it, the model expects 1,653 repeat purchase days where
the customers made 1,882 (it under-forecasts this hold-out by about 12 %).

Events before 2000 are refused at ingest (a sender's clock bug), so the
transactions move forward by 1,461 weeks (28 years): 1997-01-01 becomes
2025-01-01, a Wednesday as it was; only differences of days matter here.
"""

import json
import uuid
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest
from starlette.testclient import TestClient

from app.forecasting import clv, store
from tests.data.fetch_cdnow import load_cdnow_transactions
from tests.support.processes import wait_for

SHIFT = timedelta(weeks=1461)
CALIBRATION_END = date(1997, 9, 30) + SHIFT
OBSERVATION_END = date(1998, 6, 30) + SHIFT
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def cdnow_events() -> list[dict[str, Any]]:
    transactions = load_cdnow_transactions()
    return [
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cdnow/{n}")),
            "type": "booking.created",
            "occurred_at": f"{(day + SHIFT).date().isoformat()}T12:00:00Z",
            "data": {
                "booking_id": f"cdnow-{n}",
                "customer_id": f"cdnow-{customer}",
                "destination": "CDNOW",
                "booking_type": "cd",
                "total_amount": f"{value:.2f}",
                "currency": "USD",
            },
        }
        for n, (customer, day, value) in enumerate(
            zip(transactions["customer_id"], transactions["date"], transactions["value"], strict=True)
        )
    ]


def test_cdnow_through_the_api_reproduces_fader_hardie_lee(
    client: TestClient, db: psycopg.Connection[Any], database_url: str
) -> None:
    events = cdnow_events()
    assert len(events) == 6919
    for start in range(0, len(events), 2000):
        body = "\n".join(json.dumps(event) for event in events[start : start + 2000])
        answer = client.post("/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"})
        assert answer.status_code == 200 and answer.json()["rejected"] == 0, answer.text[:500]

    def projected() -> bool:
        projections = client.get("/v1/status").json()["projections"]
        return all(projections[name]["lag"] == 0 for name in ("bookings", "customers"))

    wait_for(projected, timeout=120, interval=0.2)

    # The refresh, as `pulse forecast run --only customers --as-of` runs it: as the projector, from the database.
    with psycopg.connect(database_url, autocommit=True) as projector:
        projector.execute("set role pulse_projector")
        done = store.refresh_customer_values(projector, CALIBRATION_END)
    assert done.items == 2357

    (details,) = db.execute(
        "select details from analytics.forecast_runs where kind = 'customer_value' and history_to = %s",
        (CALIBRATION_END,),
    ).fetchone() or (None,)
    assert details is not None and details["customers"] == 2357 and details["repeat_customers"] == 946
    fitted = details["bgnbd"]
    for name, published in PUBLISHED_BGNBD.items():
        assert fitted[name] == pytest.approx(published, rel=0.02), name
    assert fitted["log_likelihood"] == pytest.approx(-9582.4, abs=1.0)
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert details["gamma_gamma"][name] == pytest.approx(published, rel=0.02), name

    # The hold-out: what the stored predictions' inputs and parameters expect for the next 39 weeks,
    # against the repeat purchase days the database holds for those weeks.
    stored = pd.DataFrame(
        db.execute(
            "select customer_id, repeat_bookings as frequency, weeks_first_to_last as recency, "
            'weeks_since_first as "T", probability_alive, expected_bookings_12m, expected_value_12m '
            "from analytics.customer_prediction"
        ).fetchall(),
        columns=["customer_id", "frequency", "recency", "T", "p_alive", "expected_12m", "value_12m"],
    ).set_index("customer_id")
    params = clv.BetaGeoParams(
        **{k: fitted[k] for k in ("r", "alpha", "a", "b", "log_likelihood", "customers")}, unit_days=7.0
    )
    predicted = float(np.sum(clv.expected_transactions(params, stored, 39.0)))
    (actual,) = db.execute(
        "with purchase_days as ("
        "  select distinct customer_id, created_at::date as day from analytics.bookings),"
        " first as (select customer_id, min(day) as first_day from purchase_days group by customer_id)"
        " select count(*) from purchase_days p join first f using (customer_id)"
        " where f.first_day <= %(cal)s and p.day > %(cal)s and p.day <= %(obs)s",
        {"cal": CALIBRATION_END, "obs": OBSERVATION_END},
    ).fetchone() or (None,)
    assert actual == 1882
    assert predicted == pytest.approx(1653, rel=0.01)
    assert abs(predicted - actual) / actual < 0.15
    # And the figures stored for 12 months: more than the 39 weeks, valued at Gamma-Gamma's spend.
    assert stored["expected_12m"].sum() > predicted and stored["value_12m"].notna().all()
    assert stored["p_alive"].between(0, 1).all()
    assert (stored.loc[stored["frequency"] == 0, "p_alive"] == 1).all()
    lifetime = db.execute(
        "select count(*), count(expected_value_12m), sum(lifetime_bookings) from analytics.customer_lifetime"
    ).fetchone()
    assert lifetime == (2357, 2357, 6919)
