"""Reading server-sent events as a dashboard does, over real HTTP."""

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2


@dataclass(frozen=True)
class Message:
    id: str
    event: str
    data: dict[str, Any]


def sse_messages(lines: Iterator[str], patience: float = 20.0) -> Iterator[Message]:
    """Each message of a stream; comments such as pings are skipped.

    Fails when no message comes for patience seconds: pings alone keep the
    connection, and a read timeout, from ever firing.
    """
    event, data, message_id = "message", "", ""
    since = time.monotonic()
    for line in lines:
        assert time.monotonic() - since < patience, f"no stream message for {patience}s"
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data += line.partition(":")[2].strip()
        elif line.startswith("id:"):
            message_id = line.partition(":")[2].strip()
        elif line == "" and data:
            yield Message(message_id, event, json.loads(data))
            event, data = "message", ""
            since = time.monotonic()


@contextlib.contextmanager
def open_stream(
    base: str, last_event_id: str | None = None, patience: float = 20.0, **params: str
) -> Iterator[Iterator[Message]]:
    """GET /v1/stream with these query parameters; yields its messages."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with httpx2.stream(
        "GET", base + "/v1/stream", params=params, headers=headers, timeout=httpx2.Timeout(5, read=30)
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield sse_messages(response.iter_lines(), patience)


def until(messages: Iterator[Message], condition: Any, topic: str | None = None) -> Message:
    """The first message (of a topic) that meets condition."""
    for message in messages:
        if (topic is None or message.event == topic) and condition(message):
            return message
    raise AssertionError("the stream ended")
