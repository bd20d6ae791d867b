"""The `pulse` command."""

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import psycopg
from psycopg import sql

from app.logs import configure_logging
from core.settings import PROJECT_ROOT, Settings, SettingsError
from core.sql import query
from projections import ALL_PROJECTIONS

log = logging.getLogger("pulse")


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from app.localdb import LocalCluster, LocalDbError

    if not settings.use_local_cluster:
        print("PULSE_DATABASE_URL is set: no local database is managed")
        return 0
    cluster = LocalCluster(settings.home)
    try:
        print({"start": cluster.start, "stop": cluster.stop, "status": cluster.status}[args.action]())
    except LocalDbError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: alembic and SQLAlchemy take 0.3 s to import, which every other command would wait for.
    from core.migrate import migrate

    try:
        print(migrate(settings))
    except psycopg.errors.RaiseException as refused:
        # analytics.settings refuses a time zone the rollups cannot serve, and says why.
        print(f"error: PULSE_TIMEZONE: {refused.diag.message_primary}; {refused.diag.message_hint}", file=sys.stderr)
        return 2
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.api import collect_garbage_rarely, create_app

    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "info",
        "access_log": False,
        # Our handlers and format (PULSE_LOG_FORMAT) for uvicorn's lines too.
        "log_config": None,
        "timeout_graceful_shutdown": int(settings.shutdown_grace),
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
    if args.workers == 1:
        collect_garbage_rarely()
        uvicorn.run(create_app(settings), **options)
    else:
        # Each process reads the same PULSE_* settings, LISTENs on its own connection and fans out to its own
        # clients. Each runs the projection workers too: the checkpoint lock lets one apply each batch, and
        # a POST wakes the workers of its own process.
        uvicorn.run("app.api:create_app", factory=True, workers=args.workers, **options)
    return 0


def cmd_work(args: argparse.Namespace, settings: Settings) -> int:
    """Projection workers alone, without the HTTP server."""
    from core.db import make_pool
    from projections.runner import ProjectionRunner

    async def run() -> None:
        # A rebuilding worker uses two connections at once.
        pool = make_pool(
            settings.database_url,
            max_size=2 * len(ALL_PROJECTIONS) + 1,
            role=settings.role("projector"),
            statement_timeout="10min",
        )
        await pool.open(wait=True, timeout=30)
        runner = ProjectionRunner(pool, ALL_PROJECTIONS, settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, runner.stop_event.set)
        runner.start()
        stopped = asyncio.ensure_future(runner.stop_event.wait())
        failed = asyncio.ensure_future(runner.failed.wait())
        await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
        await runner.stop()
        await pool.close()
        if runner.failed.is_set():
            raise SystemExit(1)

    asyncio.run(run())
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from projections.verify import NothingToVerify, verify

    try:
        mismatches = verify(settings.database_url)
    except NothingToVerify as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for m in mismatches:
        print(f"{m.projection} {m.key}: projected {m.projected}, recomputed {m.recomputed}")
    if mismatches:
        print(f"verify: {len(mismatches)} rows differ from a recompute from the events", file=sys.stderr)
        return 1
    print("verify: every projection equals a recompute from the events up to its checkpoint")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuilds one projection from the log while the server keeps serving."""
    from core.db import make_pool
    from projections import projection_named
    from projections.replay import ReplayRefused, replay

    try:
        projection = projection_named(args.projection)
    except LookupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    async def run() -> int:
        # As the projector, which owns the projections' tables and views, as the server's workers do.
        async with make_pool(settings.database_url, max_size=2, role=settings.role("projector")) as pool:
            try:
                result = await replay(pool, projection, settings)
            except (ReplayRefused, psycopg.Error) as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
        resumed = " (resumed an interrupted rebuild)" if result.resumed else ""
        print(f"replayed {projection.name}: {result.events} events{resumed}, swapped in")
        return 0

    return asyncio.run(run())


def cmd_fx_load(args: argparse.Namespace, settings: Settings) -> int:
    from app.fx import FxFileError, load_rates, parse_rates

    try:
        rates = parse_rates(Path(args.file))
    except (FxFileError, OSError) as error:
        print(f"error: nothing loaded:\n{error}", file=sys.stderr)
        return 1
    added, corrected = load_rates(settings.database_url, rates)
    print(f"fx rates: {added} added, {corrected} corrected")
    return 0


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    from app.retention import RetentionError, drop_old_events, parse_keep

    try:
        run = drop_old_events(settings.database_url, parse_keep(args.keep))
    except RetentionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"retention: dropped {run.chunks_dropped} chunks of raw events before {run.cutoff}; rollups untouched")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Backfills (and with --follow keeps following) the legacy MySQL bookings: docs/switch-over.md."""
    from app.legacy.cli import run_import

    return run_import(args, settings.database_url)


def cmd_parity(args: argparse.Namespace, settings: Settings) -> int:
    """The legacy nightly queries on MySQL beside the views: docs/switch-over.md."""
    from app.legacy.cli import run_parity

    return run_parity(args, settings.database_url)


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from app.simulate import simulate

    started = time.monotonic()
    from app.simulate import Incident, parse_incident_time

    incident = None
    if args.incident:
        try:
            at = parse_incident_time(args.at)
        except ValueError as error:
            print(f"error: --at: {error}", file=sys.stderr)
            return 2
        incident = Incident(args.incident, at, args.incident_minutes, args.destination)
    token = args.token or os.environ.get("PULSE_TOKEN")
    tally = asyncio.run(simulate(args.url, args.rate, args.duration, seed=args.seed, incident=incident, token=token))
    elapsed = time.monotonic() - started
    print(
        f"sent {tally.sent} events in {elapsed:.1f}s ({tally.sent / elapsed:.0f}/s): "
        f"{tally.accepted} accepted, {tally.duplicates} duplicates, {tally.rejected} rejected, "
        f"{tally.failed_requests} failed requests"
    )
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status = httpx2.get(args.url.rstrip("/") + "/v1/status", timeout=10, headers=headers).json()
        for name, projection in status["projections"].items():
            print(f"projection {name}: lag {projection.get('lag')} events")
    except (httpx2.HTTPError, ValueError, KeyError) as error:
        print(f"could not read status: {error}")
    return 0 if tally.failed_requests == 0 else 1


def cmd_dq_check(args: argparse.Namespace, settings: Settings) -> int:
    """The data-quality checks, now: a table, and exit 1 when one fails (for cron or Airflow)."""
    from app.dq import run_checks, table

    async def run() -> list[Any]:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            return await run_checks(conn, reconcile=not args.no_reconcile)

    results = asyncio.run(run())
    print(table(results))
    failing = [r.check for r in results if r.status == "fail"]
    if failing:
        print(f"dq: {len(failing)} failing: {', '.join(failing)}", file=sys.stderr)
        return 1
    print("dq: every check passes")
    return 0


def cmd_detect(args: argparse.Namespace, settings: Settings) -> int:
    """One detector run, as of now or --at."""
    from app.alerts import detect
    from app.stream import parse_time

    at = parse_time(args.at, "--at") if args.at else None

    async def run() -> Any:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            return await detect(conn, at)

    summary = asyncio.run(run())
    print(
        f"detector: {summary.findings} findings; opened {summary.opened}, escalated {summary.escalated}, "
        f"resolved {summary.resolved} in {summary.seconds * 1000:.0f} ms"
    )
    return 0


def run_in_background() -> None:
    """Runs this process and its children only on CPU time nothing else wants.

    SCHED_IDLE rather than a nice value: a niced process still takes its share
    whenever the server and PostgreSQL are busy; an idle-class one yields to
    them at once. (On 2 cores the refresh still slows the stream: see
    docs/forecasting.md, Schedule.)
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        os.nice(19)


def cmd_forecast_run(args: argparse.Namespace, settings: Settings) -> int:
    """Refreshes the demand forecasts and the customer predictions now (docs/forecasting.md)."""
    from app.forecasting import store

    if args.background:
        run_in_background()
    kinds = {"all": store.KINDS, "demand": ("demand",), "customers": ("customer_value",)}[args.only]
    try:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            # As the server's background jobs act: the projector writes forecasts.
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(settings.role("projector"))))
            done = store.run(conn, kinds, last_day=args.as_of, older_than=args.if_older_than, n_jobs=args.jobs)
    except store.Busy as busy:
        print(f"forecast: {busy}; nothing done")
        return 3
    except (store.RefreshRefused, psycopg.Error) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not done:
        print(f"forecast: nothing due (each refresh is younger than {args.if_older_than:g} s)")
    for refreshed in done:
        print(f"{refreshed.kind}: {refreshed.summary} ({refreshed.seconds:.1f} s)")
    return 0


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a day such as 2026-11-25, not {text!r}") from None


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """pulse token create|list|revoke: API tokens, stored hashed."""
    from app.auth import new_token, scopes_from

    with psycopg.connect(settings.database_url) as conn:
        if args.token_command == "create":
            try:
                scopes = scopes_from(args.scope)
            except ValueError as error:
                print(f"error: --scope: {error}", file=sys.stderr)
                return 2
            token = new_token()
            conn.execute(
                query("create_token"),
                {
                    "token_id": token.token_id,
                    "name": args.name or ",".join(scopes),
                    "scopes": scopes,
                    "secret_hash": token.secret_hash,
                },
            )
            print(f"token {token.token_id} ({','.join(scopes)}); it is shown once, keep it secret:")
            print(token.text)
        elif args.token_command == "list":
            for token_id, name, scopes, created_at, revoked_at in conn.execute(query("list_tokens")).fetchall():
                state = f"revoked {revoked_at:%Y-%m-%d %H:%M}" if revoked_at else "live"
                print(f"{token_id}  {','.join(scopes):<18} {state:<24} created {created_at:%Y-%m-%d %H:%M}  {name}")
        else:
            prefix = args.token_id.strip().lower()
            if len(prefix) < 8 or not all(c in "0123456789abcdef-" for c in prefix):
                print("error: give the token's id, or at least its first 8 characters", file=sys.stderr)
                return 2
            revoked = conn.execute(query("revoke_token"), {"prefix": prefix}).fetchall()
            if len(revoked) != 1:
                conn.rollback()
                found = "no live token" if not revoked else f"{len(revoked)} tokens"
                print(f"error: {found} with an id starting {prefix}; nothing revoked", file=sys.stderr)
                return 1
            print(f"revoked {revoked[0][0]} ({revoked[0][1]}); servers refuse it within seconds")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """`make run`: local database, migrations, server and demo traffic."""
    if settings.use_local_cluster:
        from app.localdb import LocalCluster, LocalDbError

        try:
            print(LocalCluster(settings.home).start())
        except LocalDbError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    from core.migrate import migrate

    print(migrate(settings))
    with psycopg.connect(settings.database_url) as conn:
        rates = conn.execute(query("fx_rates_loaded")).fetchone()
    if settings.reporting_currency == "USD" and rates is not None and not rates[0]:
        from app.fx import load_rates, parse_rates

        # Round illustrative rates, so that the converted views show numbers.
        added, _ = load_rates(settings.database_url, parse_rates(PROJECT_ROOT / "app" / "demo_fx_rates.csv"))
        print(f"loaded {added} demo exchange rates to USD; load real ones with pulse fx load")
    base = f"http://{args.host}:{args.port}"
    pulse = [sys.executable, "-m", "app.cli"]
    # A local demo on loopback: no tokens, so the printed links open as they are.
    server = subprocess.Popen(
        [*pulse, "serve", "--host", args.host, "--port", str(args.port)],
        env={**os.environ, "PULSE_AUTH": "off", "PULSE_LOG_REQUESTS": "false"},
    )
    try:
        if not wait_until_serving(base, server):
            print("error: the server did not start", file=sys.stderr)
            return 1
        traffic = subprocess.Popen([*pulse, "simulate", "--url", base, "--rate", str(args.rate), "--duration", "86400"])
        psql = f"psql '{settings.database_url}'"
        print(
            "\nBooking Pulse is running with demo traffic.\n"
            f"  Dashboard:   {base}/\n"
            f"  Live stream: curl -N {base}/v1/stream\n"
            f"  Status:      curl {base}/v1/status\n"
            f"  SQL:         {psql} -c 'select * from analytics.kpis_today'\n"
            "  Analysts:    docs/analytics.md\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        try:
            while server.poll() is None and traffic.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        for process in (traffic, server):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        traffic.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return 0


def wait_until_serving(base: str, server: subprocess.Popen[Any], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx2.get(base + "/healthz", timeout=2).status_code == 200:
                return True
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    return False


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pulse", description="Booking Pulse: real-time booking analytics.")
    commands = top.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="the local PostgreSQL cluster under .pulse/")
    db.add_argument("action", choices=("start", "stop", "status"))
    db.set_defaults(handler=cmd_db)

    commands.add_parser("migrate", help="alembic upgrade head").set_defaults(handler=cmd_migrate)

    serve = commands.add_parser("serve", help="API, live stream and projection workers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=positive_int, default=os.cpu_count() or 1, help="server processes (default: the cores)"
    )
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("work", help="projection workers only").set_defaults(handler=cmd_work)

    commands.add_parser("verify", help="check every projection against a recompute from the events").set_defaults(
        handler=cmd_verify
    )

    replay = commands.add_parser("replay", help="rebuild a projection from the log and swap it in")
    replay.add_argument("projection", choices=[p.name for p in ALL_PROJECTIONS])
    replay.set_defaults(handler=cmd_replay)

    fx = commands.add_parser("fx", help="exchange rates")
    fx_commands = fx.add_subparsers(dest="fx_command", required=True)
    fx_load = fx_commands.add_parser("load", help="load or correct rates from a CSV file")
    fx_load.add_argument("file", help="CSV with currency,valid_from,rate and optionally to_currency")
    fx_load.set_defaults(handler=cmd_fx_load)

    retention = commands.add_parser("retention", help="drop raw events older than a window")
    retention.add_argument("--keep", required=True, help="how much to keep, such as 400d")
    retention.set_defaults(handler=cmd_retention)

    legacy_import = commands.add_parser("import", help="import legacy MySQL bookings as events (docs/switch-over.md)")
    legacy_import.add_argument("legacy_url", metavar="mysql://user:pass@host:port/db")
    legacy_import.add_argument("--mapping", help="TOML file: legacy names, statuses, currency, time zone")
    legacy_import.add_argument("--follow", action="store_true", help="keep polling for new and changed rows")
    legacy_import.add_argument("--interval", type=float, default=5.0, help="seconds between --follow polls")
    legacy_import.add_argument("--full", action="store_true", help="read every row again, not only from the watermark")
    legacy_import.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    legacy_import.set_defaults(handler=cmd_import)

    parity = commands.add_parser("parity", help="legacy nightly reports against the views, every difference explained")
    parity.add_argument("--legacy", required=True, metavar="mysql://user:pass@host:port/db")
    parity.add_argument("--from", dest="from_day", required=True, metavar="DAY", help="first day, YYYY-MM-DD")
    parity.add_argument("--to", dest="to_day", required=True, metavar="DAY", help="last day, YYYY-MM-DD (included)")
    parity.add_argument("--mapping", help="the TOML file pulse import used")
    parity.add_argument("--wait", type=float, default=60.0, help="seconds to wait for projections to catch up")
    parity.set_defaults(handler=cmd_parity)

    simulate = commands.add_parser("simulate", help="send realistic booking traffic through the API")
    simulate.add_argument("--rate", type=float, default=50.0, help="mean events per second")
    simulate.add_argument("--duration", type=float, default=60.0, help="seconds")
    simulate.add_argument("--url", default="http://127.0.0.1:8000")
    simulate.add_argument("--seed", type=int, default=None)
    simulate.add_argument(
        "--token", help="an ingest token (default: PULSE_TOKEN); needed unless the server runs with PULSE_AUTH=off"
    )
    simulate.add_argument(
        "--incident",
        choices=("destination-outage", "price-bug", "cancellation-wave", "payment-failures"),
        help="inject an incident into otherwise normal traffic",
    )
    simulate.add_argument("--at", default="+0m", help="when it starts: RFC 3339, HH:MM today (UTC), or +Nm from now")
    simulate.add_argument("--incident-minutes", type=positive_int, default=30, help="how long it lasts")
    simulate.add_argument("--destination", default="Paris", help="the destination it hits")
    simulate.set_defaults(handler=cmd_simulate)

    dq = commands.add_parser("dq", help="data-quality checks")
    dq_commands = dq.add_subparsers(dest="dq_command", required=True)
    dq_check = dq_commands.add_parser("check", help="run every check now; exit 1 when one fails")
    dq_check.add_argument("--no-reconcile", action="store_true", help="skip the recompute (pulse verify's queries)")
    dq_check.set_defaults(handler=cmd_dq_check)

    detect = commands.add_parser("detect", help="run the alert detector once")
    detect.add_argument("--at", default=None, help="as of this RFC 3339 time (default: now)")
    detect.set_defaults(handler=cmd_detect)

    forecast = commands.add_parser("forecast", help="demand forecasts and predicted customer value")
    forecast_commands = forecast.add_subparsers(dest="forecast_command", required=True)
    forecast_run = forecast_commands.add_parser(
        "run", help="refresh the demand forecasts and customer predictions now (docs/forecasting.md)"
    )
    forecast_run.add_argument(
        "--only", choices=("all", "demand", "customers"), default="all", help="refresh only these (default: all)"
    )
    forecast_run.add_argument(
        "--as-of", type=day, help="last day of history to use, YYYY-MM-DD (default: yesterday, business time zone)"
    )
    forecast_run.add_argument(
        "--if-older-than", type=float, metavar="SECONDS", help="refresh only what is older than this (the schedule)"
    )
    forecast_run.add_argument(
        "--jobs",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="worker processes for the models (default: cores)",
    )
    forecast_run.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    forecast_run.set_defaults(handler=cmd_forecast_run)
    # Parsed by app.forecasting.evaluate itself (main() hands it the arguments): listed here for --help.
    forecast_commands.add_parser(
        "evaluate",
        help="backtest the forecaster on a ds,y CSV: --csv FILE --season N --horizon H [--json]",
        add_help=False,
    )

    token = commands.add_parser("token", help="API tokens: create, list, revoke")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="a new token; printed alone on the last line")
    create.add_argument("--scope", required=True, help="ingest, read and/or admin, comma-separated")
    create.add_argument("--name", help="what it is for (default: its scopes)")
    token_commands.add_parser("list", help="every token, live or revoked, without secrets")
    revoke = token_commands.add_parser("revoke", help="refuse a token from now on")
    revoke.add_argument("token_id", help="the token's id, or its first 8 characters or more")
    token.set_defaults(handler=cmd_token)

    demo = commands.add_parser("demo", help="local database, server and demo traffic (make run)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--rate", type=float, default=50.0)
    demo.set_defaults(handler=cmd_demo)
    return top


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:2] == ["forecast", "evaluate"]:
        # Needs no database and no settings: the forecaster on a CSV file.
        from app.forecasting.evaluate import main as evaluate

        return evaluate(arguments[2:])
    args = parser().parse_args(arguments)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    try:
        code: int = args.handler(args, settings)
    except psycopg.errors.QueryCanceled as error:  # an OperationalError too, but the database was reached
        print(f"error: the database cancelled a statement: {error}".rstrip(), file=sys.stderr)
        return 1
    except psycopg.OperationalError as error:
        print(f"error: cannot reach the database: {error}".rstrip(), file=sys.stderr)
        return 75  # EX_TEMPFAIL: try again once it is up
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as error:
        print(
            f"error: the database lacks what this version needs ({error.diag.message_primary}); "
            "run `pulse migrate` first",
            file=sys.stderr,
        )
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
