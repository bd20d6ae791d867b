"""The alert detector: anomalies and business rules over the signals projection (docs/alerts.md).

`detect(conn, now)` runs once "as of" a moment: it reads, in SQL, what each
window and series observed and what the same hour of past weeks expected
(median and MAD), scores each enabled rule of analytics.alert_rules, and
opens, refreshes, escalates or resolves alerts in analytics.alerts. The table's
trigger records each change for the stream and the webhooks. The server runs
it every PULSE_DETECTOR_INTERVAL seconds; tests and the bench call it with
the time they replay.
"""

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.db import PROJECTIONS_CHANNEL
from core.sql import named_queries

log = logging.getLogger("pulse.alerts")

# How many past weeks give the expectation, and how many must exist before a rule may fire.
BASELINE_WEEKS = 8
MIN_BASELINE_WEEKS = 3
# Relative week-to-week variance assumed at least (10 %: levels drift even when history is flat).
LEVEL_VARIANCE_FLOOR = 0.1**2
# Coefficient of variation of booking values, for the noise of revenue (compound Poisson).
REVENUE_VALUE_CV = 1.0
SEVERITIES = ("info", "warning", "critical")
DIMENSION_LABEL = {"all": "all", "destination": "destination", "booking_type": "booking_type", "currency": "currency"}


def _queries() -> dict[str, Any]:
    return named_queries("alerts.sql")


@dataclass(frozen=True)
class Rule:
    rule: str
    kind: str
    metric: str
    direction: str
    window_minutes: int | None
    dimensions: tuple[str, ...]
    threshold: float
    critical_threshold: float | None
    min_z: float
    min_volume: float
    severity: str
    resolve_after_minutes: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Rule":
        return cls(
            rule=row["rule"],
            kind=row["kind"],
            metric=row["metric"],
            direction=row["direction"],
            window_minutes=row["window_minutes"],
            dimensions=tuple(row["dimensions"]),
            threshold=float(row["threshold"]),
            critical_threshold=None if row["critical_threshold"] is None else float(row["critical_threshold"]),
            min_z=float(row["min_z"]),
            min_volume=float(row["min_volume"]),
            severity=row["severity"],
            resolve_after_minutes=row["resolve_after_minutes"],
        )

    def windows(self) -> tuple[str, ...]:
        return (f"m{self.window_minutes}",) if self.window_minutes else ("partial_hour", "last_hour")


@dataclass
class Finding:
    """A rule firing for one subject: what the alert says."""

    kind: str
    subject: str
    rule: str
    severity: str
    observed: Decimal | None
    expected: Decimal | None
    score: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    findings: int
    opened: list[int]
    escalated: list[int]
    resolved: list[int]
    seconds: float
    skipped: bool = False


def subject_of(dim: str, value: str) -> str:
    return "all" if dim == "all" else f"{dim}={value or '(unknown)'}"


def count_z(observed: float, expected: float, level: float) -> float:
    """Deviation of a count from its expectation, in standard deviations.

    Anscombe's square root makes a Poisson count roughly normal with variance
    1/4 whatever its mean; week-to-week level variance v (variance = mean +
    v mean^2) widens that by 1 + v mean.
    """
    return 2 * (math.sqrt(observed + 0.375) - math.sqrt(expected + 0.375)) / math.sqrt(1 + level * expected)


def _f(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _level(value: Any) -> float:
    return max(LEVEL_VARIANCE_FLOOR, min(_f(value), 1.0))


def _severity(rule: Rule, ratio: float | None) -> str:
    if ratio is None or rule.critical_threshold is None:
        return rule.severity
    beyond = ratio <= rule.critical_threshold if rule.direction == "drop" else ratio >= rule.critical_threshold
    return "critical" if beyond else rule.severity


def _round(value: float | None, unit: str) -> Decimal | None:
    if value is None:
        return None
    places = {"count": "0.1", "ratio": "0.0001"}.get(unit, "0.01")
    return Decimal(str(value)).quantize(Decimal(places))


def score_window(rule: Rule, row: dict[str, Any], currency: str) -> Finding | None:
    """Whether the rule fires on one window of one series; None when it does not (or cannot say)."""
    if row["weeks"] < MIN_BASELINE_WEEKS and rule.metric != "paid_ratio":
        return None
    metric, direction = rule.metric, rule.direction
    observed: float
    expected: float
    z: float
    unit = "count"
    if metric in ("bookings", "cancellations"):
        observed, expected = _f(row[metric]), _f(row[f"e_{metric}"])
        z = count_z(observed, expected, _level(row[f"v_{metric}"]))
        volume = expected if direction in ("drop", "zero") else observed
    elif metric == "revenue":
        if row["revenue_missing"] or row["e_revenue"] is None:
            return None
        unit = currency
        observed, expected = _f(row["revenue"]), _f(row["e_revenue"])
        bookings = max(_f(row["e_bookings"]), 1.0)
        relative = (1 + REVENUE_VALUE_CV**2) / bookings + LEVEL_VARIANCE_FLOOR
        z = (observed - expected) / (expected * math.sqrt(relative)) if expected > 0 else 0.0
        volume = _f(row["e_bookings"])
    elif metric == "conversion":
        searches, e_searches = _f(row["searches"]), _f(row["e_searches"])
        if searches <= 0 or e_searches <= 0:
            return None
        unit = "ratio"
        base_rate = _f(row["e_bookings"]) / e_searches
        bookings_expected = searches * base_rate
        z = count_z(_f(row["bookings"]), bookings_expected, LEVEL_VARIANCE_FLOOR)
        observed, expected = _f(row["bookings"]) / searches, base_rate
        volume = bookings_expected
    elif metric == "payment_failures":
        attempts = _f(row["payments"]) + _f(row["failures"])
        e_attempts = _f(row["e_payments"]) + _f(row["e_failures"])
        if attempts <= 0 or e_attempts <= 0:
            return None
        unit = "ratio"
        # A failure rate of zero in the past would make any failure infinitely surprising: assume at least 0.5 %.
        base_rate = max(_f(row["e_failures"]) / e_attempts, 0.005)
        failures_expected = attempts * base_rate
        z = count_z(_f(row["failures"]), failures_expected, _level(row["v_failures"]))
        observed, expected = _f(row["failures"]) / attempts, base_rate
        volume = _f(row["failures"])
    elif metric == "paid_ratio":
        if _f(row["paid_total"]) <= 0:
            return None
        unit = "ratio"
        observed, expected, z = _f(row["paid"]) / _f(row["paid_total"]), 1.0, -math.inf
        volume = _f(row["payments"])
    else:
        return None
    if volume < rule.min_volume:
        return None
    if direction == "zero":
        fires = observed == 0 and -z >= rule.min_z
        ratio: float | None = 0.0
    else:
        ratio = observed / expected if expected > 0 else None
        if direction == "drop":
            fires = ratio is not None and ratio <= rule.threshold and -z >= rule.min_z
        else:
            fires = (ratio is None or ratio >= rule.threshold) and z >= rule.min_z
    if not fires:
        return None
    return Finding(
        kind=rule.kind,
        subject=subject_of(row["dim"], row["value"]),
        rule=rule.rule,
        severity=_severity(rule, ratio),
        observed=_round(observed, unit),
        expected=_round(expected, unit),
        score=abs(z) if math.isfinite(z) else 1e9,
        details={
            "unit": unit,
            "rule": rule.rule,
            "window": row["window"],
            "window_minutes": row["minutes"],
            "z": None if not math.isfinite(z) else round(z, 2),
            "ratio": None if ratio is None else round(ratio, 4),
            "baseline_weeks": int(row["weeks"]),
        },
    )


def score_values(rule: Rule, rows: Iterable[dict[str, Any]]) -> list[Finding]:
    """Booking values beyond the usual range of their destination and type by the rule's factor."""
    findings = []
    for row in rows:
        low, high = float(row["low"]), float(row["high"])
        too_low = float(row["min_value"]) < low / rule.threshold
        # A usual range of zeros (free bookings) says nothing about how far above it a value is.
        too_high = high > 0 and float(row["max_value"]) > high * rule.threshold
        if not (too_low or too_high):
            continue
        value = float(row["min_value"] if too_low else row["max_value"])
        factor = (low / value if value > 0 else math.inf) if too_low else value / high
        critical = rule.critical_threshold is not None and factor >= rule.critical_threshold
        findings.append(
            Finding(
                kind=rule.kind,
                subject=f"destination={row['destination']} booking_type={row['booking_type']}",
                rule=rule.rule,
                severity="critical" if critical else rule.severity,
                observed=_round(value, row["currency"]),
                expected=_round(float(row["median"]), row["currency"]),
                score=factor,
                details={
                    "unit": row["currency"],
                    "rule": rule.rule,
                    "window_minutes": rule.window_minutes,
                    "usual_low": round(low, 2),
                    "usual_high": round(high, 2),
                    "direction": "low" if too_low else "high",
                    "recent_bookings": int(row["bookings"]),
                    "usual_bookings": int(row["usual_bookings"]),
                },
            )
        )
    return findings


async def evaluate(conn: AsyncConnection[Any], now: datetime, rules: list[Rule]) -> list[Finding]:
    """Every finding of the rules as of now, at most one per kind and subject (the most severe, then strongest)."""
    cur = conn.cursor(row_factory=dict_row)
    reporting = await (await cur.execute("select trim(reporting_currency) as c from analytics.settings")).fetchone()
    currency = reporting["c"] if reporting else "USD"
    series_rules = [r for r in rules if r.metric not in ("booking_value", "data_quality")]
    findings: list[Finding] = []
    if series_rules:
        windows = sorted({r.window_minutes for r in series_rules if r.window_minutes})
        rows = await (
            await cur.execute(_queries()["signal_windows"], {"now": now, "weeks": BASELINE_WEEKS, "windows": windows})
        ).fetchall()
        for rule in series_rules:
            wanted = set(rule.windows())
            for row in rows:
                if row["window"] in wanted and row["dim"] in rule.dimensions:
                    if row["dim"] in ("destination", "booking_type") and not row["value"]:
                        continue  # the unknown booking of orphan payments is no place
                    if finding := score_window(rule, row, currency):
                        findings.append(finding)
    for rule in rules:
        if rule.metric == "booking_value" and rule.window_minutes:
            rows = await (
                await cur.execute(
                    _queries()["booking_values"],
                    {"now": now, "minutes": rule.window_minutes, "min_bookings": rule.min_volume},
                )
            ).fetchall()
            findings += score_values(rule, rows)
    best: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        key = (finding.kind, finding.subject)
        held = best.get(key)
        if held is None or (SEVERITIES.index(finding.severity), finding.score) > (
            SEVERITIES.index(held.severity),
            held.score,
        ):
            best[key] = finding
    return list(best.values())


async def apply_findings(
    conn: AsyncConnection[Any],
    now: datetime,
    findings: list[Finding],
    rules: list[Rule],
    managed_kinds: set[str],
) -> tuple[list[int], list[int], list[int]]:
    """Opens, refreshes (escalating) and resolves alerts of the kinds this run manages; in the caller's transaction."""
    cur = conn.cursor(row_factory=dict_row)
    unresolved = {
        (row["kind"], row["subject"]): row
        for row in await (await cur.execute(_queries()["unresolved_alerts"])).fetchall()
    }
    opened: list[int] = []
    escalated: list[int] = []
    for finding in findings:
        params = {
            "now": now,
            "kind": finding.kind,
            "subject": finding.subject,
            "observed": finding.observed,
            "expected": finding.expected,
            "details": Jsonb(finding.details),
            "rule": finding.rule,
        }
        existing = unresolved.get((finding.kind, finding.subject))
        if existing is None:
            row = await (
                await cur.execute(_queries()["open_alert"], {**params, "severity": finding.severity})
            ).fetchone()
            assert row is not None
            opened.append(row["id"])
            continue
        severity = max(existing["severity"], finding.severity, key=SEVERITIES.index)
        if severity != existing["severity"]:
            escalated.append(existing["id"])
        await cur.execute(_queries()["refresh_alert"], {**params, "id": existing["id"], "severity": severity})
    firing = {(f.kind, f.subject) for f in findings}
    resolve_after = {r.rule: r.resolve_after_minutes for r in rules}
    resolved: list[int] = []
    for (kind, subject), row in unresolved.items():
        if kind not in managed_kinds or (kind, subject) in firing:
            continue
        quiet_for = timedelta(minutes=resolve_after.get(row["rule"], 0))
        if row["last_seen_at"] <= now - quiet_for:
            done = await (
                await cur.execute(_queries()["resolve_alert"], {"id": row["id"], "at": now, "by": "detector"})
            ).fetchone()
            if done:
                resolved.append(row["id"])
    return opened, escalated, resolved


async def load_rules(conn: AsyncConnection[Any]) -> list[Rule]:
    cur = conn.cursor(row_factory=dict_row)
    return [Rule.from_row(row) for row in await (await cur.execute(_queries()["alert_rules"])).fetchall()]


async def detect(conn: AsyncConnection[Any], now: datetime | None = None) -> RunSummary:
    """One detector run as of now (default: the clock), in one transaction; skipped while another process runs one."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        lock = await (await cur.execute(_queries()["detector_lock"])).fetchone()
        if not lock or not lock["mine"]:
            return RunSummary(0, [], [], [], time.perf_counter() - started, skipped=True)
        await cur.execute("set local jit = off")
        all_rules = await load_rules(conn)
        rules = [r for r in all_rules if r.metric != "data_quality"]
        findings = await evaluate(conn, now, rules)
        managed = {r.kind for r in rules} | await _kinds_of_disabled_rules(conn)
        opened, escalated, resolved = await apply_findings(conn, now, findings, rules, managed)
    seconds = time.perf_counter() - started
    if opened or resolved or escalated:
        log.info(
            "detector as of %s: %d opened, %d escalated, %d resolved (%.0f ms)",
            now.isoformat(),
            len(opened),
            len(escalated),
            len(resolved),
            seconds * 1000,
        )
    return RunSummary(len(findings), opened, escalated, resolved, seconds)


async def _kinds_of_disabled_rules(conn: AsyncConnection[Any]) -> set[str]:
    rows = await (
        await conn.execute(
            "select distinct kind from analytics.alert_rules where not enabled and metric <> 'data_quality'"
        )
    ).fetchall()
    return {row[0] for row in rows}


async def notify(conn: AsyncConnection[Any]) -> None:
    await conn.execute(_queries()["notify_alerts"], {"channel": PROJECTIONS_CHANNEL})
