"""SQL files: the named queries and the schema objects migrations apply."""

import re
from functools import cache
from pathlib import Path
from typing import LiteralString, cast

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

_QUERY_HEADER = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)


@cache
def queries() -> dict[str, LiteralString]:
    """Every query of sql/queries.sql by name."""
    text = (SQL_DIR / "queries.sql").read_text()
    parts = _QUERY_HEADER.split(text)[1:]
    named = dict(zip(parts[::2], parts[1::2], strict=True))
    return {name: cast(LiteralString, body.strip()) for name, body in named.items()}


def query(name: str) -> LiteralString:
    return queries()[name]


def read(relative_path: str) -> LiteralString:
    """The text of a schema file under sql/, for migrations."""
    text: LiteralString = (SQL_DIR / relative_path).read_text()
    return text
