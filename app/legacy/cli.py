"""`pulse import` and `pulse parity`: argument handling, signals, what they print, exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import date
from pathlib import Path
from types import FrameType

import psycopg

from app.legacy.importer import Importer, ImportRefused, Tally
from app.legacy.mapping import QUARANTINE_CONTENT_TYPE, MappingError, load_mapping
from app.legacy.source import SourceError, SourceRefused, SourceUnreachable


def run_import(args: argparse.Namespace, database_url: str) -> int:
    """0 when every row was read (quarantined rows are counted, not errors); 1 on a failure; 2 on bad input;
    75 (EX_TEMPFAIL) when the legacy server or Booking Pulse's database cannot be reached."""
    try:
        mapping = load_mapping(Path(args.mapping) if args.mapping else None)
        importer = Importer(database_url, args.legacy_url, mapping, progress=args.progress, full=args.full)
    except (MappingError, SourceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    def stop(signum: int, frame: FrameType | None) -> None:
        # Finish the batches in flight, commit them, and stop: a rerun resumes from there.
        importer.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The writer thread needs the GIL back after each of its round trips to PostgreSQL, while the
    # main thread maps rows without pause: at the default 5 ms switch interval PostgreSQL waits
    # for it (10^6 rows: 21.5-21.8 s at 0.5 ms, 22.2-22.4 s at 5 ms).
    sys.setswitchinterval(0.0005)
    try:
        if args.follow:
            print(f"following {importer.source.url.redacted()} every {args.interval:g}s; Ctrl-C stops", flush=True)
            tallies = [importer.follow(args.interval)]
        else:
            tallies = importer.run()
    except (MappingError, ImportRefused, SourceRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SourceUnreachable as error:
        print(f"error: {error}; run pulse import again once it answers", file=sys.stderr)
        return os.EX_TEMPFAIL
    except psycopg.OperationalError:
        raise  # the CLI's answer: 75 when Booking Pulse's database cannot be reached, 1 for a cancelled statement
    except (SourceError, psycopg.Error) as error:
        print(f"error: {error}; run pulse import again to resume", file=sys.stderr)
        return 1
    finally:
        importer.close()
    print_summary(tallies, stopped=importer.stop.is_set() and not args.follow)
    return 0


def print_summary(tallies: list[Tally], stopped: bool) -> None:
    for tally in tallies:
        print(tally.line())
    refused = sum(t.quarantined + t.duplicates for t in tallies)
    if refused:
        print(
            f"{refused} rows could not become events and are in pulse.quarantine "
            f"(content type {QUARANTINE_CONTENT_TYPE}) with their reasons, for example:"
        )
        for tally in tallies:
            for example in tally.examples:
                print(f"  {example}")
        print("fix the rows or the mapping file, then run pulse import again: quarantined rows are retried")
    if stopped:
        print("stopped before the end: run pulse import again to resume from the last committed batch")


def run_parity(args: argparse.Namespace, database_url: str) -> int:
    """0 when every difference is explained, 1 when one is not, 2 on bad input, 75 (EX_TEMPFAIL) when the
    legacy server or Booking Pulse's database cannot be reached."""
    from app.legacy.parity import ParityError, parity

    try:
        mapping = load_mapping(Path(args.mapping) if args.mapping else None)
        first, last = date.fromisoformat(args.from_day), date.fromisoformat(args.to_day)
    except (MappingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if last < first:
        print("error: --to is before --from", file=sys.stderr)
        return 2
    try:
        report = parity(database_url, args.legacy, mapping, first, last, wait=args.wait)
    except SourceUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return os.EX_TEMPFAIL
    except (ParityError, MappingError, SourceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.text(), end="")
    return 0 if report.clean else 1
