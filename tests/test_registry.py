"""One owner per fact: the event registry and the projection declarations, and what derives from them."""

import re
from pathlib import Path

import pytest

from core.events import EVENT_TYPES, events_markdown
from projections import ALL_PROJECTIONS, Projection
from projections.verify import NothingToVerify, verify

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_docs_list_every_event_type_as_the_registry_does() -> None:
    text = (DOCS / "events.md").read_text()
    generated = re.search(r"<!-- event types: generated from core/events.py -->\n(.*?)<!-- end of", text, re.S)
    assert generated is not None, "docs/events.md lost its generated table"
    assert generated[1] == events_markdown(), "docs/events.md is out of date; paste core.events.events_markdown()"


@pytest.mark.parametrize("projection", ALL_PROJECTIONS, ids=lambda p: p.name)
def test_every_projection_declares_what_it_reads_and_how_to_verify_it(projection: Projection) -> None:
    assert projection.event_types and set(projection.event_types) <= set(EVENT_TYPES)
    assert projection.statements, f"sql/projections/{projection.name}/batch.sql has no statement"
    assert projection.verify_queries, f"sql/projections/{projection.name}/verify.sql has no query"


def test_a_projection_with_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"do not exist: booking\.teleported"):
        Projection(name="bookings", version=1, event_types=("booking.teleported",))


def test_verify_refuses_a_projection_it_cannot_verify(tmp_path: Path) -> None:
    (tmp_path / "batch.sql").write_text("-- name: nothing\nselect 1;\n")
    unverifiable = Projection(name="unverifiable", version=1, event_types=("search.performed",), sql_dir=tmp_path)
    with pytest.raises(NothingToVerify, match="unverifiable"):
        verify("postgresql://never-connected", [*ALL_PROJECTIONS, unverifiable])
