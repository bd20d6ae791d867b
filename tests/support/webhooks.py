"""A webhook receiver on loopback, as an integrator runs one: it records what it is sent and answers as told.

It can answer an error, hang past the sender's timeout, or go away and come
back on the same port (connection refused in between).
"""

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from core.settings import PROJECT_ROOT
from tests.support.processes import free_port

if TYPE_CHECKING:
    Headers = Message[str, str]
else:
    Headers = Message

# What the receiver does with a request: answer this status, or ("hang", seconds) and then answer 200.
Action = int | tuple[str, float]


@dataclass(frozen=True)
class Delivery:
    # Looked up by name whatever its case, as a web framework does.
    headers: Headers
    body: bytes
    at: float


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    received: list[Delivery] = field(default_factory=list)
    plan: deque[Action] = field(default_factory=deque)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/pulse"

    def answer(self, *actions: Action) -> None:
        """What the next requests get, in order; after them, 200."""
        with self.lock:
            self.plan.extend(actions)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append(Delivery(self.headers, body, time.time()))
                    action: Action = receiver.plan.popleft() if receiver.plan else 200
                status = 200
                if isinstance(action, tuple):
                    time.sleep(action[1])
                else:
                    status = action
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        # HTTPServer sets SO_REUSEADDR: the receiver comes back on the same port at once.
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, name="webhook receiver", daemon=True
        ).start()

    def stop(self) -> None:
        """Goes away: connections to its port are refused until start()."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def deliveries(self) -> list[Delivery]:
        with self.lock:
            return list(self.received)

    def __enter__(self) -> "Receiver":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def documented_verify() -> Callable[[bytes, Mapping[str, str] | Headers, bytes], bool]:
    """The signature check docs/alerts.md gives integrators, taken from the page itself and run as written."""
    page = (PROJECT_ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    found = re.search(r"Verify:\s*```python\n(.*?)```", page, re.DOTALL)
    assert found, "docs/alerts.md no longer shows integrators how to verify a signature"
    namespace: dict[str, Any] = {}
    exec(found.group(1), namespace)
    verify: Callable[[bytes, Mapping[str, str] | Headers, bytes], bool] = namespace["verify"]
    return verify
