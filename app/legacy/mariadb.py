"""A throwaway MariaDB server in a temporary directory: a real legacy MySQL for
the tests, the import benchmark, and trying `pulse import` locally.

mariadbd refuses to run as root, so as root the data directory belongs to an
unprivileged user (`mysql`, which Debian's mariadb-server package creates) and
the server runs as that user; otherwise it runs as the current user. It
listens on 127.0.0.1 on a free port and on a unix socket in its directory, and
everything it wrote goes when it stops.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import MySQLdb
from MySQLdb.connections import Connection

SERVER_USER = "mysql"
USER = "legacy"
PASSWORD = "legacy-password"
DATABASE = "oldschool"


class MariaDBError(Exception):
    pass


def _binary(name: str, *fallbacks: str) -> str:
    for candidate in (name, *fallbacks):
        found = shutil.which(candidate) or shutil.which(candidate, path="/usr/sbin:/usr/bin")
        if found:
            return found
    raise MariaDBError(f"{name} not found: install Debian's mariadb-server package (make setup)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MariaDB:
    """One server; `with MariaDB() as server:` starts it and removes it afterwards."""

    def __init__(self, buffer_pool: str = "128M") -> None:
        self.buffer_pool = buffer_pool
        self.port = _free_port()
        self.home = Path(tempfile.mkdtemp(prefix="pulse-mariadb-"))
        self.datadir = self.home / "data"
        self.socket = self.home / "mysqld.sock"
        self.log = self.home / "mysqld.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.as_root = os.geteuid() == 0

    def _as_server_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", SERVER_USER, "--", *command] if self.as_root else command

    def start(self) -> MariaDB:
        if self.as_root:
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(self.home, owner.pw_uid, owner.pw_gid)
        install = subprocess.run(
            self._as_server_user(
                [
                    _binary("mariadb-install-db", "mysql_install_db"),
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
            cwd=self.home,
        )
        if install.returncode != 0:
            raise MariaDBError(f"mariadb-install-db failed:\n{install.stdout}\n{install.stderr}")
        self.process = subprocess.Popen(
            self._as_server_user(
                [
                    _binary("mariadbd", "mysqld"),
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--socket={self.socket}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--pid-file={self.home / 'mysqld.pid'}",
                    f"--log-error={self.log}",
                    "--skip-log-bin",
                    "--skip-name-resolve",
                    f"--innodb-buffer-pool-size={self.buffer_pool}",
                    "--innodb-flush-log-at-trx-commit=2",
                    "--character-set-server=utf8mb4",
                    "--collation-server=utf8mb4_unicode_ci",
                    # Two cores shared with PostgreSQL and the tests: few background threads.
                    "--innodb-read-io-threads=1",
                    "--innodb-write-io-threads=1",
                    "--performance-schema=OFF",
                    # Its data goes when it stops: no need to flush anything on the way out.
                    "--innodb-fast-shutdown=2",
                ]
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.home,
            start_new_session=True,
        )
        try:
            self._wait_until_answering()
            with self.root() as conn, conn.cursor() as cur:
                cur.execute(f"create database {DATABASE} character set utf8mb4")
                for host in ("localhost", "127.0.0.1"):
                    cur.execute(f"create user '{USER}'@'{host}' identified by '{PASSWORD}'")
                    cur.execute(f"grant all on {DATABASE}.* to '{USER}'@'{host}'")
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_answering(self, timeout: float = 60.0) -> None:
        """Polls the unix socket until the server accepts connections, then until it answers a query."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise MariaDBError(f"mariadbd exited with {self.process.returncode}:\n{self._log_tail()}")
            try:
                # A plain socket first: a cheap probe while mariadbd is still starting.
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.settimeout(5)
                    probe.connect(str(self.socket))
                with self.root() as conn, conn.cursor() as cur:
                    cur.execute("select 1")
                    return
            except (OSError, MySQLdb.OperationalError) as error:
                last_error = error
                time.sleep(0.05)
        raise MariaDBError(f"mariadbd did not answer within {timeout}s ({last_error}):\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    @contextlib.contextmanager
    def root(self) -> Iterator[Connection]:
        """A root connection over the unix socket, autocommit."""
        conn = MySQLdb.connect(unix_socket=str(self.socket), user="root", autocommit=True, connect_timeout=5)
        try:
            yield conn
        finally:
            conn.close()

    def connect(self, database: str = DATABASE) -> Connection:
        """A connection as the legacy application's user, autocommit."""
        return MySQLdb.connect(
            host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, database=database, autocommit=True
        )

    def url(self, database: str = DATABASE) -> str:
        """The URL `pulse import` and `pulse parity` take."""
        return f"mysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Another database on the same server, for the legacy user; its URL."""
        with self.root() as conn, conn.cursor() as cur:
            cur.execute(f"create database `{name}` character set utf8mb4")
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"grant all on `{name}`.* to '{USER}'@'{host}'")
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The server runs in its own session (and, as root, as another user): signal its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.process = None
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> MariaDB:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
