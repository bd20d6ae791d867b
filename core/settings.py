"""Settings: PULSE_* environment variables and an optional .env file, checked once.

`Settings.from_env()` reads them; a bad value is refused with one line naming
the variable and what it accepts. Constructing `Settings(...)` directly (as
tests do) reads nothing from outside.
"""

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from core.currencies import ISO_4217

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DB_PORT = 54329
LOCAL_DB_NAME = "pulse"
LOCAL_DB_USER = "pulse"
ENV_PREFIX = "PULSE_"


def local_database_url() -> str:
    return f"postgresql://{LOCAL_DB_USER}@127.0.0.1:{LOCAL_DB_PORT}/{LOCAL_DB_NAME}"


class SettingsError(ValueError):
    """An environment variable holds something Booking Pulse cannot use."""


Seconds = Annotated[float, Field(gt=0, le=86400)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    # Empty: the local cluster that `pulse db start` runs under PULSE_HOME.
    database_url: str = ""
    # False when PULSE_DATABASE_URL names an existing database.
    use_local_cluster: bool = True
    # Where the local cluster lives when PULSE_DATABASE_URL is not set.
    home: Path = PROJECT_ROOT / ".pulse"
    max_body_bytes: Annotated[int, Field(gt=0, le=1024**3)] = 10 * 1024 * 1024
    batch_size: Annotated[int, Field(gt=0, le=1_000_000)] = 5000
    # The largest batch a catch-up takes once a full batch shows a backlog; none: each projection's own
    # (200,000 events, 10^6 for customers), or 8 times batch_size if that is more.
    backlog_batch_size: Annotated[int | None, Field(gt=0, le=10_000_000)] = None
    # False: `pulse serve` runs no projection workers; `pulse work` runs them in a process of its own.
    serve_projections: bool = True
    # Workers poll this often even when nothing woke them (NOTIFY is only a hint).
    poll_interval: Seconds = 1.0
    # How soon to look again when running writers held the read horizon back.
    horizon_retry: Seconds = 0.02
    # The stream re-reads what dashboards show this often even without a notification.
    stream_poll_interval: Seconds = 5.0
    sse_ping_seconds: Seconds = 15.0
    sse_send_timeout: Seconds = 10.0
    # Stream clients one server process takes before it answers 503.
    stream_max_clients: Annotated[int, Field(gt=0)] = 5000
    # Browser origins allowed to read the API from elsewhere (CORS), comma-separated.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    pool_max_size: Annotated[int, Field(gt=0, le=1000)] = 10
    # How long ?after=POSITION waits for the projections to pass it before answering 504.
    read_your_writes_timeout: Seconds = 10.0
    # How long a request waits for a database connection before it answers 503.
    pool_timeout: Seconds = 5.0
    shutdown_grace: Seconds = 10.0
    # Business time zone of daily buckets and "today"; reporting currency of converted views.
    timezone: str = "UTC"
    reporting_currency: str = "USD"
    log_format: Literal["text", "json"] = "text"
    # Alerts (docs/alerts.md): how often the detector and the data-quality checks run (0: never, in this process).
    detector_interval: Annotated[float, Field(ge=0, le=86400)] = 60.0
    dq_interval: Annotated[float, Field(ge=0, le=86400)] = 300.0
    # Demand forecasts and customer predictions (docs/forecasting.md): refreshed when the latest is older than this
    # many seconds, by `pulse forecast run` in a subprocess (0: never, in this process).
    forecast_interval: Annotated[float, Field(ge=0, le=30 * 86400)] = 86400.0
    # Webhooks that receive new, escalated and resolved alerts (comma-separated URLs), and the HMAC secret.
    alert_webhooks: Annotated[tuple[str, ...], NoDecode] = ()
    alert_webhook_secret: str = ""
    # Delivery attempts per alert change and webhook; the wait before attempt n is backoff * 2^(n-1) seconds.
    alert_webhook_attempts: Annotated[int, Field(gt=0, le=30)] = 8
    alert_webhook_backoff: Seconds = 2.0
    alert_webhook_timeout: Seconds = 10.0
    # How often the job queue looks for retries that are due (it is woken at once for new jobs).
    job_poll_interval: Seconds = 5.0
    # One log line per HTTP request (make run's demo turns it off).
    log_requests: bool = True
    # tokens: every data endpoint needs a token (pulse token create); off: none do (make run's local demo).
    auth: Literal["tokens", "off"] = "tokens"
    # A dashboard ticket lasts this long past its last use.
    ticket_seconds: Annotated[float, Field(ge=60, le=7 * 86400)] = 8 * 3600
    # Requests per second per token on average (twice that at once), per server process.
    rate_limit_per_second: Annotated[float, Field(gt=0)] = 50.0
    # Proxies (comma-separated addresses, or *) whose X-Forwarded-Proto/For are believed: behind a TLS
    # proxy on another host, name it, so that the ticket cookie is marked Secure.
    forwarded_allow_ips: str = "127.0.0.1"
    # The database roles are <prefix>_owner, _ingest, _projector, _analyst and _dashboard.
    role_prefix: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,40}$")] = "pulse"
    # The built dashboard (npm run build in web/), served at /.
    dashboard_dir: Path = PROJECT_ROOT / "web" / "dist"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the caller passes: the environment is read by from_env alone.
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _local_cluster_unless_a_url(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if not data.get("database_url"):
                data["database_url"] = local_database_url()
                data.setdefault("use_local_cluster", True)
            else:
                data.setdefault("use_local_cluster", False)
        return data

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, name: str) -> str:
        # Whether its offsets suit the rollups is the database's rule (analytics.settings).
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone such as Europe/London") from None
        return name

    @field_validator("reporting_currency")
    @classmethod
    def _iso_4217(cls, code: str) -> str:
        if code not in ISO_4217:
            raise ValueError("is not an ISO 4217 currency code such as USD")
        return code

    @field_validator("cors_origins", "alert_webhooks", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if not origin.startswith(("http://", "https://")) or origin.rstrip("/") != origin:
                raise ValueError(f"{origin!r} is not an origin such as https://dashboards.example.com")
        return origins

    @field_validator("alert_webhooks")
    @classmethod
    def _webhook_urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return urls

    def role(self, job: Literal["owner", "ingest", "projector", "analyst", "dashboard"]) -> str:
        """The database role for a job: <PULSE_ROLE_PREFIX>_<job>."""
        return f"{self.role_prefix}_{job}"

    @classmethod
    def from_env(cls) -> "Settings":
        """The settings from PULSE_* variables and ./.env; SettingsError names every bad one."""
        try:
            return _FromEnvironment()
        except ValidationError as error:
            raise SettingsError("\n".join(_explain(detail) for detail in error.errors())) from None


class _FromEnvironment(Settings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", frozen=True, extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings)


def _explain(detail: Any) -> str:
    """One line for one bad setting: the variable, the value, what it accepts."""
    name = ENV_PREFIX + "_".join(str(part) for part in detail["loc"]).upper() if detail["loc"] else "PULSE_*"
    message = str(detail["msg"]).removeprefix("Value error, ")
    value = detail.get("input")
    shown = f"={value!r}" if isinstance(value, str) else ""
    return f"{name}{shown} {message}"
