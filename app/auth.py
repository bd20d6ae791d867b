"""Who may call the API: scoped tokens, browser tickets, and a rate limit per token.

Clients send `Authorization: Bearer TOKEN`. A token is `pulse_<id>_<secret>`;
the database keeps only a SHA-256 hash of the secret (the secret is 256
random bits, so a fast hash is enough). A browser cannot set headers on an
EventSource, so opening `/?token=TOKEN` exchanges the token for a ticket: a
short-lived, signed HttpOnly cookie naming the token, renewed while in use and
refused once the token is revoked.

Without credentials a protected endpoint answers 401; with a token that lacks
the scope, 403; past the rate limit, 429 with Retry-After.
"""

import base64
import hashlib
import hmac
import math
import re
import secrets
import struct
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.settings import Settings
from core.sql import query

SCOPES = ("ingest", "read", "admin")
TICKET_COOKIE = "pulse_ticket"
_TOKEN = re.compile(r"pulse_([0-9a-f]{32})_([A-Za-z0-9_-]{43})")
# Checked tokens are trusted this long: a revocation takes effect within it.
TRUST_SECONDS = 5.0
MAX_TRUSTED = 10_000
# The ticket-signing key is read again this often.
KEY_SECONDS = 60.0


@dataclass(frozen=True)
class NewToken:
    token_id: uuid.UUID
    text: str
    secret_hash: bytes


def new_token() -> NewToken:
    token_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    return NewToken(token_id, f"pulse_{token_id.hex}_{secret}", hashlib.sha256(secret.encode()).digest())


def parse_token(text: str) -> tuple[uuid.UUID, bytes] | None:
    """(token id, hash of its secret) of a well-formed token; None otherwise."""
    match = _TOKEN.fullmatch(text.strip())
    if match is None:
        return None
    return uuid.UUID(match[1]), hashlib.sha256(match[2].encode()).digest()


@dataclass
class Bucket:
    """A token bucket: `rate` requests a second on average, `burst` at once."""

    tokens: float
    updated: float

    def take(self, rate: float, burst: float, now: float) -> float:
        """0 when the request may go; otherwise seconds until it may."""
        self.tokens = min(burst, self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate


@dataclass
class Authenticator:
    """Checks tokens and tickets against the database, remembering answers for TRUST_SECONDS."""

    pool: AsyncConnectionPool[Any]
    settings: Settings
    ticket_key: bytes = b""
    key_loaded_at: float = 0.0
    # Answers about (token id, secret hash or None for a ticket), good for TRUST_SECONDS; bounded,
    # since unknown tokens are remembered too (so that made-up ones do not each cost a query).
    trusted: OrderedDict[tuple[uuid.UUID, bytes | None], tuple[float, tuple[str, ...] | None]] = field(
        default_factory=OrderedDict
    )
    buckets: dict[uuid.UUID, Bucket] = field(default_factory=dict)

    async def load_key(self) -> None:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(query("ticket_key"))).fetchone()
        assert row is not None and row[0], "pulse.ticket_key is empty: run pulse migrate"
        self.ticket_key = bytes(row[0])
        self.key_loaded_at = time.monotonic()

    async def fresh_key(self) -> None:
        """Re-reads the signing key now and then: replacing it ends every ticket within KEY_SECONDS."""
        if time.monotonic() - self.key_loaded_at > KEY_SECONDS:
            await self.load_key()

    async def token_scopes(self, token_id: uuid.UUID, secret_hash: bytes | None) -> tuple[str, ...] | None:
        now = time.monotonic()
        key = (token_id, secret_hash)
        known = self.trusted.get(key)
        if known is not None and now - known[0] < TRUST_SECONDS:
            return known[1]
        async with self.pool.connection() as conn:
            if secret_hash is None:
                row = await (await conn.execute(query("token_still_valid"), {"token_id": token_id})).fetchone()
            else:
                row = await (
                    await conn.execute(query("token_scopes"), {"token_id": token_id, "secret_hash": secret_hash})
                ).fetchone()
        scopes = tuple(row[0]) if row and row[0] else None
        self.trusted[key] = (now, scopes)
        self.trusted.move_to_end(key)
        while len(self.trusted) > MAX_TRUSTED:
            self.trusted.popitem(last=False)
        return scopes

    def ticket(self, token_id: uuid.UUID) -> str:
        """A signed cookie value naming the token, good for ticket_seconds."""
        payload = token_id.bytes + struct.pack(">Q", int(time.time() + self.settings.ticket_seconds))
        signature = hmac.new(self.ticket_key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(payload + signature).decode().rstrip("=")

    def read_ticket(self, value: str) -> uuid.UUID | None:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (ValueError, TypeError):
            return None
        if len(raw) != 16 + 8 + 32:
            return None
        payload, signature = raw[:24], raw[24:]
        if not hmac.compare_digest(signature, hmac.new(self.ticket_key, payload, hashlib.sha256).digest()):
            return None
        (expires,) = struct.unpack(">Q", payload[16:])
        return uuid.UUID(bytes=payload[:16]) if expires > time.time() else None

    def over_limit(self, token_id: uuid.UUID) -> float:
        """0 when the token may make a request now; otherwise the seconds to wait."""
        rate = self.settings.rate_limit_per_second
        now = time.monotonic()
        bucket = self.buckets.setdefault(token_id, Bucket(tokens=rate * 2, updated=now))
        return bucket.take(rate, rate * 2, now)


@dataclass(frozen=True)
class Caller:
    token_id: uuid.UUID
    scopes: tuple[str, ...]
    # Came with a ticket cookie, which the answer renews.
    by_ticket: bool


def _refuse(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def identify(request: Request) -> Caller | Response:
    """The caller, from a bearer token or a ticket cookie; or the 401 to answer."""
    authenticator: Authenticator = request.state.authenticator
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, credentials = header.partition(" ")
        parsed = parse_token(credentials) if scheme.lower() == "bearer" else None
        if parsed is None:
            return _refuse(
                401,
                "Authorization must be `Bearer pulse_...`, a token from `pulse token create`",
                **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        scopes = await authenticator.token_scopes(*parsed)
        if scopes is None:
            return _refuse(
                401, "this token is unknown or revoked", **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        return Caller(parsed[0], scopes, by_ticket=False)
    cookie = request.cookies.get(TICKET_COOKIE)
    if cookie is not None:
        await authenticator.fresh_key()
        token_id = authenticator.read_ticket(cookie)
        scopes = await authenticator.token_scopes(token_id, None) if token_id else None
        if token_id is None or scopes is None:
            return _refuse(
                401,
                "the dashboard ticket expired or its token was revoked: open /?token=TOKEN again",
                **{"WWW-Authenticate": "Bearer"},
            )
        return Caller(token_id, scopes, by_ticket=True)
    return _refuse(401, "send Authorization: Bearer TOKEN (see `pulse token create`)", **{"WWW-Authenticate": "Bearer"})


Handler = Callable[[Request], Awaitable[Response]]


def requires(scope: str) -> Callable[[Handler], Handler]:
    """Lets a request through with a token (or ticket) that has the scope, within the rate limit."""
    assert scope in SCOPES

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request) -> Response:
            settings: Settings = request.state.settings
            if settings.auth == "off":
                return await handler(request)
            caller = await identify(request)
            if isinstance(caller, Response):
                return caller
            if scope not in caller.scopes and "admin" not in caller.scopes:
                return _refuse(403, f"this token may {', '.join(caller.scopes)}, not {scope}")
            authenticator: Authenticator = request.state.authenticator
            wait = authenticator.over_limit(caller.token_id)
            if wait:
                return _refuse(
                    429, "too many requests for this token; slow down", **{"Retry-After": str(math.ceil(wait))}
                )
            response = await handler(request)
            if caller.by_ticket:
                set_ticket(response, authenticator, caller.token_id, request)
            return response

        return guarded

    return decorate


def set_ticket(response: Response, authenticator: Authenticator, token_id: uuid.UUID, request: Request) -> None:
    response.set_cookie(
        TICKET_COOKIE,
        authenticator.ticket(token_id),
        max_age=int(authenticator.settings.ticket_seconds),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def scopes_from(text: str) -> list[str]:
    """'ingest,read' as a checked list; ValueError names what is wrong."""
    scopes = [scope.strip() for scope in text.split(",") if scope.strip()]
    wrong = [scope for scope in scopes if scope not in SCOPES]
    if wrong or not scopes:
        raise ValueError(f"scopes are {', '.join(SCOPES)}, comma-separated; not {text!r}")
    return sorted(set(scopes), key=SCOPES.index)


def describe(scopes: Iterable[str]) -> str:
    return ",".join(scopes)
