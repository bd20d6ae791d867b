"""The switch-over from Old School Travel's legacy MySQL batch system.

- `mapping`: the mapping file (legacy column names, statuses, currency, time
  zone) and legacy rows turned into events, each validated like any other.
- `source`: reading the legacy tables from MySQL or MariaDB with server-side
  cursors, so a table larger than memory streams.
- `importer`: `pulse import`: backfill and `--follow`, through the write
  contract `pulse.append_events`, resumable, with per-row state in
  `pulse.legacy_rows` and the watermark in `pulse.legacy_imports`.
- `parity`: `pulse parity`: the legacy nightly queries against the views,
  every difference explained or flagged.
- `mariadb`: a throwaway MariaDB server in a temporary directory, for the
  tests, the benchmark and trying the import locally.

The operator's guide is docs/switch-over.md.
"""
