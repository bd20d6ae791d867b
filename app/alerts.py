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
from collections import OrderedDict
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


def detector_windows(now: datetime, minutes: Iterable[int]) -> list[tuple[str, datetime, datetime]]:
    """(name, start, end) of each window as of now (to the minute): the last N minutes for each N, the current
    hour so far (none at the top of an hour), the last complete hour."""
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    hour = now.replace(minute=0)
    windows = [(f"m{n}", now - timedelta(minutes=n), now) for n in sorted(set(minutes))]
    if now > hour:
        windows.append(("partial_hour", hour, now))
    windows.append(("last_hour", hour - timedelta(hours=1), hour))
    return windows


def _hours(start: datetime, end: datetime) -> list[datetime]:
    """The UTC hours a window [start, end) touches."""
    hour, hours = start.replace(minute=0), []
    while hour < end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


@dataclass(frozen=True)
class HourBaseline:
    """What the same hour of past weeks brought: the past weeks that count, and per series its figures."""

    weeks: int
    series: dict[tuple[str, str], dict[str, Any]]


# Baselines by (database, first hour with data, weeks, hour): past weeks do not change, so a server running
# the detector every minute computes each hour's once. Kept a few minutes (a replay rebuilds the rollups).
_BASELINES: "OrderedDict[tuple[Any, ...], tuple[float, HourBaseline]]" = OrderedDict()
BASELINE_CACHE_SECONDS = 300.0
BASELINE_CACHE_SIZE = 16
_BASELINE_FIGURES = ("bookings", "revenue", "cancellations", "payments", "failures", "searches")
_VARIANCES = ("v_bookings", "rel_revenue", "v_cancellations", "v_failures")


async def hour_baselines(conn: AsyncConnection[Any], hours: list[datetime]) -> dict[datetime, HourBaseline]:
    """The baseline of each hour, from the cache or the query hour_baselines."""
    cur = conn.cursor(row_factory=dict_row)
    identity = await (await cur.execute(_queries()["baseline_identity"])).fetchone()
    assert identity is not None
    if identity["first_hour"] is None:
        return {hour: HourBaseline(0, {}) for hour in hours}
    found: dict[datetime, HourBaseline] = {}
    missing = []
    clock = time.monotonic()
    for hour in hours:
        key = (identity["database"], identity["first_hour"], BASELINE_WEEKS, hour)
        cached = _BASELINES.get(key)
        if cached is not None and clock - cached[0] < BASELINE_CACHE_SECONDS:
            found[hour] = cached[1]
        else:
            missing.append(hour)
    if missing:
        rows = await (
            await cur.execute(
                _queries()["hour_baselines"],
                {"hours": missing, "weeks": BASELINE_WEEKS, "first_hour": identity["first_hour"]},
            )
        ).fetchall()
        for hour in missing:
            weeks = next((int(r["weeks"]) for r in rows if r["hour"] == hour and r["dim"] is None), 0)
            series = {(r["dim"], r["value"]): r for r in rows if r["hour"] == hour and r["dim"] is not None}
            found[hour] = baseline = HourBaseline(weeks, series)
            _BASELINES[(identity["database"], identity["first_hour"], BASELINE_WEEKS, hour)] = (clock, baseline)
        while len(_BASELINES) > BASELINE_CACHE_SIZE:
            _BASELINES.popitem(last=False)
    return found


async def signal_windows(conn: AsyncConnection[Any], now: datetime, minutes: Iterable[int]) -> list[dict[str, Any]]:
    """Per window and series: what was observed, and what the same hours of past weeks expected.

    Expected is each touched hour's median pro rata to the minutes of that hour the window covers; weeks
    the fewest past weeks of those hours; the variances the largest. A series appears when it was observed
    in the window or seen in the past weeks of any hour the detector looks at.
    """
    windows = detector_windows(now, minutes)
    hours = sorted({hour for _, start, end in windows for hour in _hours(start, end)})
    baselines = await hour_baselines(conn, hours)
    cur = conn.cursor(row_factory=dict_row)
    observed_rows = await (
        await cur.execute(
            _queries()["window_observations"],
            {"names": [w[0] for w in windows], "starts": [w[1] for w in windows], "ends": [w[2] for w in windows]},
        )
    ).fetchall()
    observed = {(r["name"], r["dim"], r["value"]): r for r in observed_rows}
    series = {(r["dim"], r["value"]) for r in observed_rows}
    for baseline in baselines.values():
        series.update(baseline.series)
    rows = []
    for name, start, end in windows:
        shares = [
            (baselines[hour], (min(hour + timedelta(hours=1), end) - max(hour, start)).total_seconds() / 3600)
            for hour in _hours(start, end)
            if baselines[hour].weeks > 0
        ]
        for dim, value in sorted(series):
            seen = observed.get((name, dim, value))
            if seen is None and not shares:
                continue
            row: dict[str, Any] = {
                "window": name,
                "minutes": int((end - start).total_seconds()) // 60,
                "dim": dim,
                "value": value,
                "weeks": min((b.weeks for b, _ in shares), default=0),
            }
            for figure in ("bookings", "revenue", "cancellations", "payments", "failures", "paid", "paid_total"):
                row[figure] = seen[figure] if seen is not None else 0
            row["searches"] = seen["searches"] if seen is not None else 0
            row["revenue_missing"] = bool(seen["revenue_missing"]) if seen is not None else False
            for figure in _BASELINE_FIGURES:
                row[f"e_{figure}"] = (
                    sum(_baseline_figure(b, dim, value, figure) * share for b, share in shares) if shares else None
                )
            for variance in _VARIANCES:
                known = [v for b, _ in shares if (v := _baseline_figure(b, dim, value, variance, None)) is not None]
                row[variance] = max(known) if known else None
            rows.append(row)
    return rows


def _baseline_figure(baseline: HourBaseline, dim: str, value: str, figure: str, quiet: Any = 0.0) -> Any:
    """A series' figure in an hour's baseline; quiet (zero, no variance) where the past weeks never saw it."""
    row = baseline.series.get((dim, value))
    return quiet if row is None or row[figure] is None else float(row[figure])


async def evaluate(conn: AsyncConnection[Any], now: datetime, rules: list[Rule]) -> list[Finding]:
    """Every finding of the rules as of now, at most one per kind and subject (the most severe, then strongest)."""
    cur = conn.cursor(row_factory=dict_row)
    reporting = await (await cur.execute("select trim(reporting_currency) as c from analytics.settings")).fetchone()
    currency = reporting["c"] if reporting else "USD"
    series_rules = [r for r in rules if r.metric not in ("booking_value", "data_quality")]
    findings: list[Finding] = []
    if series_rules:
        windows = sorted({r.window_minutes for r in series_rules if r.window_minutes})
        rows = await signal_windows(conn, now, windows)
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
