"""Data-quality checks over stored data (docs/alerts.md): each run writes analytics.dq_results.

`pulse dq check` runs them on demand and exits non-zero when one fails; the
server runs them every PULSE_DQ_INTERVAL seconds and serves the latest at
GET /v1/dq. A failing check opens a data_quality alert (subject check=NAME),
resolved once it has passed for the data_quality rule's resolve_after_minutes.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from app.alerts import Finding, Rule, apply_findings, load_rules
from core.sql import named_queries
from projections import ALL_PROJECTIONS


@dataclass(frozen=True)
class Result:
    check: str
    status: str
    observed: Decimal | None
    threshold: Decimal | None
    details: dict[str, Any] = field(default_factory=dict)


def _queries() -> dict[str, Any]:
    return named_queries("dq.sql")


def _judge(check: str, observed: Any, threshold: Any, above_fails: bool = True, **details: Any) -> Result:
    if observed is None:
        return Result(check, "skipped", None, threshold, details)
    fails = observed > threshold if above_fails else observed < threshold
    return Result(check, "fail" if fails else "pass", Decimal(str(observed)), threshold, details)


async def run_checks(conn: AsyncConnection[Any], now: datetime | None = None, reconcile: bool = True) -> list[Result]:
    """Runs every enabled check as of now, writes the results, and opens or resolves data_quality alerts.

    reconcile: also run pulse verify's queries (a recompute: the server does it once an hour, not every run).
    """
    now = now or datetime.now(UTC)
    cur = conn.cursor(row_factory=dict_row)
    async with conn.transaction():
        thresholds = {
            row["check"]: row["threshold"] for row in await (await cur.execute(_queries()["dq_checks"])).fetchall()
        }
        results: list[Result] = []
        q = _queries()
        if "quarantine_rate" in thresholds:
            row = await (await cur.execute(q["quarantine_rate"], {"now": now})).fetchone()
            assert row is not None
            total = row["accepted"] + row["quarantined"]
            rate = row["quarantined"] / total if total >= 20 else None
            results.append(
                _judge(
                    "quarantine_rate",
                    rate,
                    thresholds["quarantine_rate"],
                    accepted=row["accepted"],
                    quarantined=row["quarantined"],
                )
            )
        if "duplicate_events" in thresholds:
            row = await (await cur.execute(q["duplicate_events"], {"now": now})).fetchone()
            assert row is not None
            results.append(_judge("duplicate_events", row["duplicates"], thresholds["duplicate_events"]))
        if "orphan_events" in thresholds:
            wait = thresholds.get("orphan_wait", Decimal(3600))
            row = await (await cur.execute(q["orphan_events"], {"now": now, "seconds": wait})).fetchone()
            assert row is not None
            results.append(
                _judge(
                    "orphan_events",
                    row["orphans"],
                    thresholds["orphan_events"],
                    oldest=row["oldest"],
                    waiting_seconds=int(wait),
                )
            )
        if "freshness" in thresholds:
            for row in await (await cur.execute(q["freshness"], {"now": now})).fetchall():
                # Checked only while the same hour of past weeks had such events: a quiet night is not stale.
                observed = row["seconds"] if row["usual"] else None
                results.append(
                    _judge(f"freshness:{row['type']}", observed, thresholds["freshness"], last=row["last_at"])
                )
        for projection in ALL_PROJECTIONS:
            row = await (
                await cur.execute(
                    q["projection_lag"],
                    {
                        "projection": projection.checkpoint,
                        "cap": int(thresholds.get("projection_lag_events", 50000)) + 1,
                    },
                )
            ).fetchone()
            if row is None:
                continue
            if "projection_lag_events" in thresholds:
                results.append(
                    _judge(
                        f"projection_lag_events:{projection.name}", row["events"], thresholds["projection_lag_events"]
                    )
                )
            if "projection_lag_seconds" in thresholds:
                results.append(
                    _judge(
                        f"projection_lag_seconds:{projection.name}",
                        row["seconds"] or 0,
                        thresholds["projection_lag_seconds"],
                    )
                )
        if "oldest_transaction" in thresholds:
            # No row: no other session has a transaction open.
            row = await (await cur.execute(q["oldest_transaction"])).fetchone() or {"seconds": 0, "pid": None}
            results.append(
                _judge("oldest_transaction", row["seconds"] or 0, thresholds["oldest_transaction"], pid=row["pid"])
            )
        if "volume" in thresholds:
            row = await (await cur.execute(q["volume"], {"now": now})).fetchone()
            assert row is not None
            ratio = None
            observed_events, expected_events = float(row["observed"] or 0), float(row["expected"] or 0)
            if row["weeks"] and row["weeks"] >= 3 and expected_events >= 20:
                ratio = observed_events / expected_events
            low = thresholds["volume"]
            result = _judge(
                "volume",
                ratio,
                low,
                above_fails=False,
                observed_events=int(observed_events),
                expected_events=expected_events,
                weeks=int(row["weeks"] or 0),
            )
            if ratio is not None and low > 0 and ratio > 1 / low:
                result = Result("volume", "fail", result.observed, low, result.details)
            results.append(result)
        if "reconciliation" in thresholds and reconcile:
            differing = 0
            for projection in ALL_PROJECTIONS:
                await cur.execute(projection.search_path())
                for check in projection.verify_queries.values():
                    differing += len(await (await cur.execute(check, {"projection": projection.checkpoint})).fetchall())
                await cur.execute("set local search_path to default")
            results.append(_judge("reconciliation", differing, thresholds["reconciliation"]))
        for result in results:
            await cur.execute(
                q["record_result"],
                {
                    "run_at": now,
                    "check": result.check,
                    "status": result.status,
                    "observed": result.observed,
                    "threshold": result.threshold,
                    "details": Jsonb(result.details, dumps=_dumps),
                },
            )
        rules = [r for r in await load_rules(conn) if r.metric == "data_quality"]
        if rules:
            await apply_findings(
                conn, now, [_finding(rules[0], r) for r in results if r.status == "fail"], rules, {rules[0].kind}
            )
    return results


# What each check's observed and threshold measure (details.unit of its alerts); others count.
UNITS = {
    "quarantine_rate": "ratio",
    "volume": "ratio",
    "freshness": "seconds",
    "projection_lag_seconds": "seconds",
    "oldest_transaction": "seconds",
}


def _finding(rule: Rule, result: Result) -> Finding:
    unit = UNITS.get(result.check.split(":")[0], "count")
    return Finding(
        kind=rule.kind,
        subject=f"check={result.check}",
        rule=rule.rule,
        severity=rule.severity,
        observed=result.observed,
        expected=result.threshold,
        score=0,
        # As JSON: details may hold times (the last event, the oldest orphan).
        details=json.loads(_dumps({"unit": unit, "rule": rule.rule, **result.details})),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


async def latest(conn: AsyncConnection[Any]) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    rows = await (await cur.execute(_queries()["latest_results"])).fetchall()
    return {
        "run_at": rows[0]["run_at"].isoformat() if rows else None,
        "failing": sum(row["status"] == "fail" for row in rows),
        "checks": [
            {
                "check": row["check"],
                "status": row["status"],
                "observed": None if row["observed"] is None else str(row["observed"]),
                "threshold": None if row["threshold"] is None else str(row["threshold"]),
                "details": row["details"],
            }
            for row in rows
        ],
    }


def table(results: list[Result]) -> str:
    """A readable table for pulse dq check."""
    lines = [f"{'check':42} {'status':8} {'observed':>14} {'threshold':>12}"]
    for r in results:
        observed = "-" if r.observed is None else f"{r.observed:.4g}"
        threshold = "-" if r.threshold is None else f"{r.threshold:.4g}"
        lines.append(
            f"{r.check:42} {r.status.upper() if r.status == 'fail' else r.status:8} {observed:>14} {threshold:>12}"
        )
    return "\n".join(lines)
