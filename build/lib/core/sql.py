"""SQL files by name: the named queries the code runs, and the current schema.

The files live in the `sql` package (the repository's `sql/` folder), read
through importlib.resources so that an installed copy finds them too.

`sql/` holds the schema as it is now, one object per file named after it.
Migrations do not read it: each revision applies its own frozen SQL, and a test
checks that `alembic upgrade head` gives the same catalog as these files.
"""

import re
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import LiteralString, cast

SQL_ROOT: Traversable = files("sql")

_QUERY_HEADER = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)
# Tables and the like, created once in this order; replaceable objects follow.
_CREATED_IN_ORDER = ("schemas", "tables")
# Views and functions: `create or replace`, ordered by what they reference.
_REPLACEABLE = ("functions", "views")


def parse_named(text: str) -> dict[str, LiteralString]:
    """The queries of a file of "-- name: NAME" sections, by name, in file order."""
    parts = _QUERY_HEADER.split(text)[1:]
    named = dict(zip(parts[::2], parts[1::2], strict=True))
    return {name: cast(LiteralString, body.strip()) for name, body in named.items()}


def read_text(file: Traversable) -> LiteralString:
    """The text of an SQL file: ours, so trusted as a literal statement."""
    text: LiteralString = file.read_text(encoding="utf-8")
    return text


def read(relative_path: str) -> LiteralString:
    """The text of a file under sql/."""
    return read_text(SQL_ROOT.joinpath(*relative_path.split("/")))


@cache
def named_queries(relative_path: str = "queries.sql") -> dict[str, LiteralString]:
    """Every query of a file of named queries under sql/."""
    return parse_named(read(relative_path))


def query(name: str) -> LiteralString:
    """A named query of sql/queries.sql."""
    return named_queries()[name]


def _files_in(folder: str) -> list[Traversable]:
    return sorted(
        (file for file in SQL_ROOT.joinpath(folder).iterdir() if file.name.endswith(".sql")), key=lambda f: f.name
    )


def object_name(file: Traversable) -> str:
    """schema.name of the object a schema file defines: its file name."""
    return file.name.removesuffix(".sql")


def replaceable_files(kinds: tuple[str, ...] = _REPLACEABLE) -> list[Traversable]:
    """Every view and function file (or only those of kinds), each after the objects it references.

    A file references another object when its text names it (schema.name); ties
    are broken by name, so the order is stable.
    """
    found = {object_name(file): file for folder in kinds for file in _files_in(folder)}
    references = {
        name: {
            other
            for other in found
            if other != name and re.search(rf"(?<![\w.]){re.escape(other)}(?![\w])", read_text(file))
        }
        for name, file in found.items()
    }
    ordered: list[str] = []
    while len(ordered) < len(found):
        ready = sorted(name for name in found if name not in ordered and references[name] <= set(ordered))
        if not ready:
            cycle = sorted(set(found) - set(ordered))
            raise ValueError(f"views and functions reference each other in a cycle: {', '.join(cycle)}")
        ordered.append(ready[0])
    return [found[name] for name in ordered]


def replaceable_objects() -> LiteralString:
    """One script that creates or replaces every view and function."""
    script: LiteralString = "\n".join(read_text(file) for file in replaceable_files())
    return script


def views_script() -> LiteralString:
    """One script that creates or replaces every view.

    A replay runs it after swapping in rebuilt projection tables, since dropping
    the old tables dropped the views over them (functions keep no such ties).
    """
    script: LiteralString = "\n".join(read_text(file) for file in replaceable_files(("views",)))
    return script


def view_names() -> list[str]:
    """schema.name of every view the schema defines."""
    return [object_name(file) for file in _files_in("views")]


def tables_script() -> LiteralString:
    """Schemas and tables of the current schema, before projections, views and functions."""
    script: LiteralString = "\n".join(read_text(file) for folder in _CREATED_IN_ORDER for file in _files_in(folder))
    return script


def roles_script() -> LiteralString:
    """The application's roles and their privileges: applied after every object."""
    return read("roles.sql")


def triggers_script() -> LiteralString:
    """Triggers of the current schema: created last, after the functions they call."""
    script: LiteralString = "\n".join(read_text(file) for file in _files_in("triggers"))
    return script
