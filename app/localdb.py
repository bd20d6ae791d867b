"""The local PostgreSQL cluster under .pulse/ that `make run` uses.

PostgreSQL refuses to run as root, so as root the cluster belongs to the
`postgres` system user and its commands run as that user. When that user
cannot reach the checkout (a clone under /root, or in a `mktemp -d`
directory), the cluster lives in /var/lib/booking-pulse/ instead, in a folder
named after the checkout, and .pulse/DATA_LOCATION says where.
"""

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

from core.settings import LOCAL_DB_NAME, LOCAL_DB_PORT, LOCAL_DB_USER

CLUSTER_OWNER = "postgres"
# Where the cluster lives when its owner cannot reach the checkout.
SHARED_HOMES = Path("/var/lib/booking-pulse")


def _shared_buffers_mb() -> int:
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(128, min(memory_mb // 4, 4096))


class LocalDbError(Exception):
    pass


def postgres_bin_dir() -> Path:
    """The server binaries (initdb, pg_ctl): PULSE_PG_BIN, or the newest Debian install."""
    if configured := os.environ.get("PULSE_PG_BIN"):
        return Path(configured)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise LocalDbError("PostgreSQL server binaries not found; run `make setup` or set PULSE_PG_BIN")


def timescaledb_installed(bin_dir: Path) -> bool:
    pkglibdir = subprocess.run(
        [str(bin_dir / "pg_config"), "--pkglibdir"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not pkglibdir:
        pkglibdir = str(bin_dir.parent / "lib")
    return (Path(pkglibdir) / "timescaledb.so").exists()


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", CLUSTER_OWNER, "--", *command]


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    # From /, which the cluster's owner can always enter (not a checkout only root can read).
    kwargs.setdefault("cwd", "/")
    return subprocess.run(_as_owner(command), text=True, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _owner_can_use(path: Path) -> bool:
    return _run(["test", "-w", str(path)]).returncode == 0


def usable_home(home: Path) -> Path:
    """home, or when the cluster's owner cannot reach it, a folder of its own under SHARED_HOMES."""
    home = home.resolve()
    if os.geteuid() != 0:
        return home
    home.mkdir(parents=True, exist_ok=True)
    owner = pwd.getpwnam(CLUSTER_OWNER)
    os.chown(home, owner.pw_uid, owner.pw_gid)
    if _owner_can_use(home):
        return home
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:10]
    shared = SHARED_HOMES / f"{home.parent.name}-{digest}"
    shared.mkdir(parents=True, exist_ok=True)
    os.chmod(SHARED_HOMES, 0o755)
    os.chown(shared, owner.pw_uid, owner.pw_gid)
    (home / "DATA_LOCATION").write_text(
        f"User {CLUSTER_OWNER} cannot reach this checkout, so the local database lives in {shared}\n"
    )
    return shared


class LocalCluster:
    def __init__(self, home: Path) -> None:
        self.home = usable_home(home)
        self.data_dir = self.home / "pgdata"
        self.socket_dir = self.home / "run"
        self.log_file = self.home / "postgres.log"
        self.bin_dir = postgres_bin_dir()

    def _prepare_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam(CLUSTER_OWNER)
            for path in (self.home, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            if not _owner_can_use(self.home):
                raise LocalDbError(
                    f"user {CLUSTER_OWNER} cannot reach {self.home}; set PULSE_HOME to a directory it can reach"
                )

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        self._prepare_home()
        result = _run(
            [
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                LOCAL_DB_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
            ]
        )
        if result.returncode != 0:
            raise LocalDbError(f"initdb failed:\n{result.stderr}")
        settings = {
            "port": str(LOCAL_DB_PORT),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "'" + str(self.socket_dir).replace("'", "''") + "'",
            "timezone": "'UTC'",
            "max_connections": "200",
            # Sized for analytics rather than PostgreSQL's defaults (128 MB, 1 GB of WAL between checkpoints):
            # a quarter of the memory up to 4 GB, and checkpoints far enough apart that a bulk load or a
            # replay is not one checkpoint after another, each making the next write of every page log it whole.
            "shared_buffers": f"'{_shared_buffers_mb()}MB'",
            "max_wal_size": "'8GB'",
            "checkpoint_timeout": "'15min'",
        }
        if timescaledb_installed(self.bin_dir):
            settings["shared_preload_libraries"] = "'timescaledb'"
            settings["timescaledb.telemetry_level"] = "off"
            # Booking Pulse runs no TimescaleDB jobs (retention is its own). Each database's job scheduler
            # takes a background worker; with more databases than worker slots (make bench adds several),
            # the ones left out retried twice a second, logging a warning each time.
            settings["timescaledb.max_background_workers"] = "0"
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# Booking Pulse\n" + lines)

    def running(self) -> bool:
        if not self.initialized():
            return False
        return _run([str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)]).returncode == 0

    def start(self) -> str:
        """Starts the cluster (creating it on first use) and the pulse database; returns a one-line report."""
        created = not self.initialized()
        if created:
            self.init()
        if not self.running():
            if _port_taken(LOCAL_DB_PORT):
                raise LocalDbError(
                    f"another server already listens on 127.0.0.1:{LOCAL_DB_PORT} (the local database of another "
                    "checkout?): stop it (pulse db stop there), or point PULSE_DATABASE_URL at a database"
                )
            self._prepare_home()
            result = _run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                ]
            )
            if result.returncode != 0:
                raise LocalDbError(f"pg_ctl start failed; see {self.log_file}:\n{result.stdout}{result.stderr}")
        self._create_database()
        edition = "with TimescaleDB" if timescaledb_installed(self.bin_dir) else "on plain PostgreSQL (no TimescaleDB)"
        verb = "created and started" if created else "running"
        return f"local database {verb} at 127.0.0.1:{LOCAL_DB_PORT}, {edition}, data in {self.data_dir}"

    def _create_database(self) -> None:
        psql = [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(LOCAL_DB_PORT), "-U", LOCAL_DB_USER]
        exists = _run([*psql, "-d", "postgres", "-tAc", f"select 1 from pg_database where datname = '{LOCAL_DB_NAME}'"])
        if exists.stdout.strip() != "1":
            result = _run([*psql, "-d", "postgres", "-c", f"create database {LOCAL_DB_NAME}"])
            if result.returncode != 0:
                raise LocalDbError(f"could not create database {LOCAL_DB_NAME}: {result.stderr}")

    def stop(self) -> str:
        if not self.running():
            return "local database is not running"
        result = _run([str(self.bin_dir / "pg_ctl"), "stop", "-m", "fast", "-D", str(self.data_dir)])
        if result.returncode != 0:
            raise LocalDbError(f"pg_ctl stop failed:\n{result.stderr}")
        return "local database stopped"

    def status(self) -> str:
        if not self.initialized():
            return f"no local database yet (it will live in {self.data_dir})"
        state = "running" if self.running() else "stopped"
        return f"local database {state} at 127.0.0.1:{LOCAL_DB_PORT}, data in {self.data_dir}"
