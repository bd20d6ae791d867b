"""Settings, read once from the environment (PULSE_*)."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.currencies import ISO_4217

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DB_PORT = 54329
LOCAL_DB_NAME = "pulse"
LOCAL_DB_USER = "pulse"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def local_database_url() -> str:
    return f"postgresql://{LOCAL_DB_USER}@127.0.0.1:{LOCAL_DB_PORT}/{LOCAL_DB_NAME}"


class SettingsError(ValueError):
    """An environment variable holds something Booking Pulse cannot use."""


def _timezone(name: str) -> str:
    # Whether its offsets are whole hours is the database's rule (analytics.settings).
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"PULSE_TIMEZONE={name!r} is not an IANA time zone such as Europe/London") from None
    return name


def _currency(code: str) -> str:
    if code not in ISO_4217:
        raise SettingsError(f"PULSE_REPORTING_CURRENCY={code!r} is not an ISO 4217 currency code such as USD")
    return code


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=local_database_url)
    # False when PULSE_DATABASE_URL names an existing database.
    use_local_cluster: bool = True
    # Where the local cluster lives when PULSE_DATABASE_URL is not set.
    home: Path = PROJECT_ROOT / ".pulse"
    max_body_bytes: int = 10 * 1024 * 1024
    batch_size: int = 5000
    # Workers poll this often even when nothing woke them (NOTIFY is only a hint).
    poll_interval: float = 1.0
    # How soon to look again when running writers held the read horizon back.
    horizon_retry: float = 0.02
    # The stream re-reads the rollups this often even without a notification.
    stream_poll_interval: float = 5.0
    sse_ping_seconds: float = 15.0
    sse_send_timeout: float = 10.0
    sse_queue_size: int = 64
    pool_max_size: int = 10
    shutdown_grace: float = 10.0
    # Business time zone of daily buckets and "today"; reporting currency of converted views.
    timezone: str = "UTC"
    reporting_currency: str = "USD"

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get("PULSE_DATABASE_URL") or local_database_url(),
            use_local_cluster=not os.environ.get("PULSE_DATABASE_URL"),
            home=Path(os.environ.get("PULSE_HOME") or PROJECT_ROOT / ".pulse"),
            max_body_bytes=_env_int("PULSE_MAX_BODY_BYTES", 10 * 1024 * 1024),
            batch_size=_env_int("PULSE_BATCH_SIZE", 5000),
            poll_interval=_env_float("PULSE_POLL_INTERVAL", 1.0),
            stream_poll_interval=_env_float("PULSE_STREAM_POLL_INTERVAL", 5.0),
            sse_ping_seconds=_env_float("PULSE_SSE_PING_SECONDS", 15.0),
            pool_max_size=_env_int("PULSE_POOL_MAX_SIZE", 10),
            timezone=_timezone(os.environ.get("PULSE_TIMEZONE") or "UTC"),
            reporting_currency=_currency(os.environ.get("PULSE_REPORTING_CURRENCY") or "USD"),
        )
