"""The live stream under load: POST-to-SSE delay with many dashboards connected, and memory per idle client.

Delay: many clients each subscribed to kpis,hourly while events are posted at
a steady rate, ten POSTs a second. Every POST's acknowledgement is a probe: its
answer names the log position of its events, and a client has them once it
receives a message whose id is at or past that position. The delay runs from
the acknowledgement to that message, for every probe and every client.
Nothing missed: at the end every client must have the final position.
Probes start after WARMUP_SECONDS of load: the first batches after a server
starts plan and prepare every statement on each pooled connection (tens of
ms). That first POST's delay is reported on its own as cold_start_ms, for the
slowest client. The load generator collects no garbage while it measures: its
own collections paused all 500 clients for 50-85 ms at a time, which is the
instrument's delay, not the server's.

Memory: the server's resident memory (all its processes) before and after
1,000 idle clients connect, divided by 1,000.

    python -m bench.stream [--clients 500] [--rate 2000] [--seconds 20] [--workers 1]
"""

import argparse
import asyncio
import gc
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

from bench.harness import fresh_database, start_server
from core.log import LogPosition

WARMUP_SECONDS = 2.0

HOST = "127.0.0.1"


class Client:
    """A dashboard on a raw socket: it only reads each message's id, as cheaply as it can."""

    def __init__(self) -> None:
        self.latest = LogPosition(0, 0)
        self.arrivals: list[tuple[float, LogPosition]] = []
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, port: int, topics: str) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        self.writer.write(f"GET /v1/stream?topics={topics} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        await self.writer.drain()
        status = await self.reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")

    async def read(self, record: bool) -> None:
        """Reads chunks and picks out the id lines: cheap enough that 500 clients in one process keep up."""
        assert self.reader is not None
        buffer = b""
        while True:
            chunk = await self.reader.read(1 << 16)
            if not chunk:
                return
            buffer += chunk
            end = buffer.rfind(b"\n")
            if end < 0:
                continue
            complete, buffer = buffer[: end + 1], buffer[end + 1 :]
            start = complete.rfind(b"\nid: ")
            if start < 0:
                continue
            line = complete[start + 5 : complete.index(b"\n", start + 1)].strip()
            position = LogPosition.parse(line.decode().split(";")[0])
            if position > self.latest:
                self.latest = position
                if record:
                    self.arrivals.append((time.perf_counter(), position))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def events_body(count: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    lines = []
    for i in range(count):
        lines.append(
            json.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "type": "booking.created" if i % 4 == 0 else "search.performed",
                    "occurred_at": now,
                    "data": {
                        "booking_id": f"s{uuid.uuid4().hex[:12]}",
                        "customer_id": "c1",
                        "session_id": "s1",
                        "destination": ["Lisbon", "Tokyo", "Cancun", "Paris"][i % 4],
                        "booking_type": "flight",
                        "total_amount": "100.00",
                        "currency": "USD",
                    },
                }
            )
        )
    return "\n".join(lines).encode()


async def post_load(
    port: int,
    rate: int,
    seconds: float,
    probes: list[tuple[float, LogPosition]],
    warmup: float = 0.0,
    cold: list[tuple[float, LogPosition]] | None = None,
) -> LogPosition:
    """Posts rate events per second in ten requests a second; every request after warmup is a probe.

    cold, when given, gets the very first request.
    """
    per_request = max(1, rate // 10)
    last = LogPosition(0, 0)
    async with httpx2.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30) as http:
        started = time.perf_counter()
        n = 0
        while time.perf_counter() - started < seconds:
            due = started + n * 0.1
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            response = await http.post(
                "/v1/events", content=events_body(per_request), headers={"Content-Type": "application/x-ndjson"}
            )
            acknowledged = time.perf_counter()
            if response.status_code != 200:
                raise RuntimeError(f"POST answered {response.status_code}: {response.text[:200]}")
            position = LogPosition.parse(response.json()["position"])
            last = max(last, position)
            if n == 0 and cold is not None:
                cold.append((acknowledged, position))
            if due - started >= warmup:
                probes.append((acknowledged, position))
            n += 1
    return last


def delays(clients: list[Client], probes: list[tuple[float, LogPosition]]) -> tuple[list[float], int]:
    """Per probe and client, seconds from the acknowledgement to the first message at or past its position."""
    found, missed = [], 0
    for client in clients:
        arrivals = client.arrivals
        index = 0
        for acknowledged, position in probes:
            while index < len(arrivals) and arrivals[index][1] < position:
                index += 1
            if index == len(arrivals):
                missed += 1
                continue
            found.append(max(0.0, arrivals[index][0] - acknowledged))
    return found, missed


async def measure_delay(port: int, clients_count: int, rate: int, seconds: float) -> dict[str, Any]:
    clients = [Client() for _ in range(clients_count)]
    for chunk in range(0, clients_count, 50):
        await asyncio.gather(*(c.connect(port, "kpis,hourly") for c in clients[chunk : chunk + 50]))
    readers = [asyncio.create_task(c.read(record=True)) for c in clients]
    await asyncio.sleep(2)  # first messages in
    probes: list[tuple[float, LogPosition]] = []
    cold: list[tuple[float, LogPosition]] = []
    gc.collect()
    gc.disable()
    try:
        final = await post_load(port, rate, WARMUP_SECONDS + seconds, probes, warmup=WARMUP_SECONDS, cold=cold)
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and any(c.latest < final for c in clients):
            await asyncio.sleep(0.1)
    finally:
        gc.enable()
    behind = sum(c.latest < final for c in clients)
    for task in readers:
        task.cancel()
    for client in clients:
        client.close()
    found, missed = delays(clients, probes)
    found.sort()
    cold_found, _ = delays(clients, cold)
    return {
        "clients": clients_count,
        "events_per_s": rate,
        "probes": len(probes),
        "p50_ms": round(statistics.median(found) * 1000, 1),
        "p99_ms": round(found[int(len(found) * 0.99) - 1] * 1000, 1),
        "max_ms": round(found[-1] * 1000, 1),
        "cold_start_ms": round(max(cold_found, default=0.0) * 1000, 1),
        "clients_without_final_state": behind,
        "probes_never_seen": missed,
    }


def resident_kib(pid: int) -> int:
    """Resident memory of a process and its children, in KiB."""
    total = 0
    pids = [pid, *_children(pid)]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


async def measure_memory(port: int, server_pid: int, clients_count: int = 1000) -> dict[str, Any]:
    await asyncio.sleep(1)
    before = resident_kib(server_pid)
    clients = [Client() for _ in range(clients_count)]
    for chunk in range(0, clients_count, 50):
        await asyncio.gather(*(c.connect(port, "kpis,hourly") for c in clients[chunk : chunk + 50]))
    readers = [asyncio.create_task(c.read(record=False)) for c in clients]
    await asyncio.sleep(3)
    after = resident_kib(server_pid)
    for task in readers:
        task.cancel()
    for client in clients:
        client.close()
    return {"idle_clients": clients_count, "kib_per_idle_client": round((after - before) / clients_count, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    url = fresh_database()
    port = 8766
    server = start_server(url, port, workers=args.workers, PULSE_STREAM_MAX_CLIENTS="5000")
    try:
        figures = asyncio.run(measure_delay(port, args.clients, args.rate, args.seconds))
        figures |= asyncio.run(measure_memory(port, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({"workers": args.workers, **figures}, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
