"""Writes a new revision that applies files of sql/ as they are now, frozen.

    python -m migrations.new "add the refunds rollup" sql/projections/refunds sql/views/analytics.refunds_daily.sql

Each path is a file of sql/ (a table, function, view or trigger) or a
projection's folder (its schema and tables.sql). The revision gets
NNNN_slug.py, NNNN_slug.sql (the files' SQL, copied in the order given) and
NNNN_slug.down.sql (drops, in reverse order; read it before committing). The
upgrade ends with sql/roles.sql, so what it adds gets the roles' rights.
"""

import argparse
import re
import sys
from pathlib import Path

from alembic import command

from core.migrate import alembic_config

SQL_ROOT = Path(__file__).resolve().parent.parent / "sql"
VERSIONS = Path(__file__).resolve().parent / "versions"


def frozen(path: Path) -> tuple[str, str]:
    """(upgrade, downgrade) SQL for one file of sql/ or one projection folder."""
    relative = path.resolve().relative_to(SQL_ROOT)
    if path.is_dir() and relative.parts[0] == "projections":
        schema = f"pulse_{path.name}"
        tables = (path / "tables.sql").read_text(encoding="utf-8").strip()
        upgrade = (
            f"-- {relative}/tables.sql, in schema {schema}\ncreate schema {schema};\n"
            f"set local search_path to {schema}, public;\n{tables}\nset local search_path to default;\n"
        )
        return upgrade, f"drop schema if exists {schema}, {schema}_rebuild cascade;\n"
    kind = relative.parts[0]
    name = path.name.removesuffix(".sql")
    upgrade = f"-- {relative}\n{path.read_text(encoding='utf-8').strip()}\n"
    drops = {"views": "drop view {}", "functions": "drop function {}", "tables": "drop table {}"}
    if kind not in drops:
        return upgrade, f"-- undo {relative} here\n"
    return upgrade, drops[kind].format(name) + ";\n"


def next_revision_id() -> str:
    numbers = [int(m[1]) for f in VERSIONS.glob("*.py") if (m := re.match(r"(\d{4})_", f.name))]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrations.new", description=__doc__.split("\n\n")[0])
    parser.add_argument("message", help="what the revision does, in a few words")
    parser.add_argument("paths", nargs="+", type=Path, help="files of sql/ or folders sql/projections/NAME")
    args = parser.parse_args(argv)
    pieces = []
    for path in args.paths:
        if not path.exists() or not path.resolve().is_relative_to(SQL_ROOT):
            print(f"error: {path} is not a file or projection folder under sql/", file=sys.stderr)
            return 2
        pieces.append(frozen(path))
    revision_id = next_revision_id()
    script = command.revision(alembic_config("postgresql://unused"), message=args.message, rev_id=revision_id)
    assert script is not None and not isinstance(script, list)
    module = Path(script.path)
    header = (
        f"-- Revision {revision_id}, frozen: the SQL this revision applies, as it was written.\n"
        "-- Never edit it; change the schema in a new revision.\n\n"
    )
    # Every revision ends with the roles' rights (sql/roles.sql, idempotent), so what it adds gets them too.
    roles = f"-- roles.sql\n{(SQL_ROOT / 'roles.sql').read_text(encoding='utf-8').strip()}\n"
    module.with_suffix(".sql").write_text(header + "\n".join([*(up for up, _ in pieces), roles]), encoding="utf-8")
    module.with_name(module.stem + ".down.sql").write_text(
        f"-- Revision {revision_id} undone.\n" + "".join(down for _, down in reversed(pieces)), encoding="utf-8"
    )
    print(f"wrote {module.name} and its frozen SQL; read {module.stem}.down.sql, then run the tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
