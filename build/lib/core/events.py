"""The event types Booking Pulse accepts, their validation and their JSON Schema.

EVENT_MODELS is the registry: one pydantic model per type, with a data model
that documents its fields and carries an example. Ingest validates with it,
GET /v1/schema serves the JSON Schema generated from it, docs/events.md lists
it, and each projection names the types it reads from EVENT_TYPES.
"""

import functools
import operator
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from core.currencies import ISO_4217

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# Clock skew we tolerate; later timestamps are sender bugs that would also
# create far-future hypertable chunks.
MAX_FUTURE_SKEW = timedelta(days=1)


def _timestamp_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string with a UTC offset")
    return value


def _plausible_time(value: datetime) -> datetime:
    if value < EARLIEST_EVENT_TIME:
        raise ValueError("must not be before 2000-01-01")
    if value > datetime.now(UTC) + MAX_FUTURE_SKEW:
        raise ValueError("must not be more than a day in the future")
    return value


def _iso_4217(value: str) -> str:
    if value not in ISO_4217:
        raise ValueError("must be an ISO 4217 currency code such as EUR or USD")
    return value


def _decimal_text(value: Any) -> Any:
    # JSON numbers arrive as Decimal or int; strings must be plain ASCII decimals
    # so that PostgreSQL's numeric reads them exactly as Python did.
    plain_number = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    if not (plain_number or (isinstance(value, str) and _DECIMAL.fullmatch(value))):
        raise ValueError("must be a decimal number such as 120.50")
    return value


def _uuid_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a UUID string")
    return value


EventTime = Annotated[AwareDatetime, BeforeValidator(_timestamp_string), AfterValidator(_plausible_time)]
Identifier = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Amount = Annotated[
    Decimal, BeforeValidator(_decimal_text), Field(ge=0, max_digits=18, decimal_places=4, allow_inf_nan=False)
]
Currency = Annotated[StrictStr, AfterValidator(_iso_4217)]
EventId = Annotated[UUID, BeforeValidator(_uuid_string)]


class _Data(BaseModel):
    # Senders may add fields of their own; they are stored with the event.
    model_config = ConfigDict(extra="allow")
    # A valid data object of this type, for documentation and tests.
    example: ClassVar[dict[str, Any]]


class BookingCreatedData(_Data):
    """A booking was made: it counts once, in the hour it was created."""

    example: ClassVar[dict[str, Any]] = {
        "booking_id": "b-1",
        "customer_id": "c-1",
        "destination": "Lisbon",
        "booking_type": "flight",
        "total_amount": "120.50",
        "currency": "EUR",
    }
    booking_id: Identifier
    customer_id: Identifier
    destination: Identifier
    booking_type: Identifier
    total_amount: Amount
    currency: Currency
    channel: Identifier | None = None
    travel_date: date | None = None


class BookingModifiedData(_Data):
    """A booking's total changed: revenue moves by the difference."""

    example: ClassVar[dict[str, Any]] = {"booking_id": "b-1", "total_amount": "130.00", "currency": "EUR"}
    booking_id: Identifier
    total_amount: Amount
    currency: Currency


class BookingCancelledData(_Data):
    """A booking was cancelled: the first cancellation counts, with its refund."""

    example: ClassVar[dict[str, Any]] = {"booking_id": "b-1"}
    booking_id: Identifier
    refund_amount: Amount | None = Field(default=None, description="Defaults to the booking's current total.")


class PaymentCapturedData(_Data):
    """Money was taken for a booking."""

    example: ClassVar[dict[str, Any]] = {"booking_id": "b-1", "amount": "120.50", "currency": "EUR"}
    booking_id: Identifier
    amount: Amount
    currency: Currency


class PaymentFailedData(_Data):
    """A payment for a booking was attempted and refused: nothing was taken."""

    example: ClassVar[dict[str, Any]] = {"booking_id": "b-1", "amount": "120.50", "currency": "EUR"}
    booking_id: Identifier
    amount: Amount
    currency: Currency
    reason: Identifier | None = None


class CustomerRegisteredData(_Data):
    """A customer signed up."""

    example: ClassVar[dict[str, Any]] = {"customer_id": "c-1"}
    customer_id: Identifier
    country: Identifier | None = None
    channel: Identifier | None = None


class SearchPerformedData(_Data):
    """Someone searched for a destination: the top of the conversion funnel."""

    example: ClassVar[dict[str, Any]] = {"session_id": "s-1", "destination": "Lisbon"}
    session_id: Identifier
    destination: Identifier
    customer_id: Identifier | None = None


class CheckoutStartedData(_Data):
    """Someone started paying: the middle of the conversion funnel."""

    example: ClassVar[dict[str, Any]] = {"session_id": "s-1", "destination": "Lisbon", "booking_type": "flight"}
    session_id: Identifier
    destination: Identifier
    booking_type: Identifier
    customer_id: Identifier | None = None


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: EventId = Field(description="Idempotency key: an event_id is stored once, ever.")
    occurred_at: EventTime = Field(description="When it happened: RFC 3339 with an offset.")


class BookingCreated(_Event):
    type: Literal["booking.created"]
    data: BookingCreatedData


class BookingModified(_Event):
    type: Literal["booking.modified"]
    data: BookingModifiedData


class BookingCancelled(_Event):
    type: Literal["booking.cancelled"]
    data: BookingCancelledData


class PaymentCaptured(_Event):
    type: Literal["payment.captured"]
    data: PaymentCapturedData


class PaymentFailed(_Event):
    type: Literal["payment.failed"]
    data: PaymentFailedData


class CustomerRegistered(_Event):
    type: Literal["customer.registered"]
    data: CustomerRegisteredData


class SearchPerformed(_Event):
    type: Literal["search.performed"]
    data: SearchPerformedData


class CheckoutStarted(_Event):
    type: Literal["checkout.started"]
    data: CheckoutStartedData


# The registry: every event type Booking Pulse accepts. Validation, GET
# /v1/schema, docs/events.md and the projections' lists of types derive from it.
EVENT_MODELS: tuple[type[_Event], ...] = (
    BookingCreated,
    BookingModified,
    BookingCancelled,
    PaymentCaptured,
    PaymentFailed,
    CustomerRegistered,
    SearchPerformed,
    CheckoutStarted,
)


def type_name(model: type[_Event]) -> str:
    """The `type` an event model accepts, from its Literal annotation."""
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


def data_model(model: type[_Event]) -> type[_Data]:
    data: type[_Data] = model.model_fields["data"].annotation  # type: ignore[assignment]
    return data


EVENT_TYPES: tuple[str, ...] = tuple(type_name(model) for model in EVENT_MODELS)
EVENT_MODEL_BY_TYPE: dict[str, type[_Event]] = dict(zip(EVENT_TYPES, EVENT_MODELS, strict=True))

# The union of the registered models, told apart by `type`.
_event_union: Any = Annotated[functools.reduce(operator.or_, EVENT_MODELS), Field(discriminator="type")]
_event_adapter: TypeAdapter[Any] = TypeAdapter(_event_union)


class _UnknownTypeEvent(_Event):
    """The envelope alone: checked when the type is unknown, so its other errors are reported too."""

    type: Any = None
    data: dict[str, Any]


def storable_text(text: str) -> str:
    """text with NUL characters and lone surrogates written out as escapes (\\u0000, \\ud800).

    Reasons name fields and quote input, and both may hold such characters,
    which neither jsonb nor UTF-8 can carry.
    """
    if "\x00" not in text and not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text).replace("\x00", "\\u0000")


class Reason(BaseModel):
    """Why an event is not accepted: the field concerned (a dotted path, "" for the whole event) and what is wrong."""

    field: str
    message: str

    @field_validator("field", "message")
    @classmethod
    def _storable(cls, text: str) -> str:
        return storable_text(text)


class ValidEvent(BaseModel):
    event_id: UUID
    type: str
    occurred_at: datetime
    # As sent: extra fields and the sender's number formatting are kept.
    data: dict[str, Any]


def validate_event(candidate: Any) -> ValidEvent | list[Reason]:
    """The event, or every reason it is not acceptable, each naming its field."""
    if not isinstance(candidate, dict):
        return [Reason(field="", message="an event must be a JSON object")]
    if unstorable := _unstorable_text(candidate, ""):
        return [
            Reason(field=unstorable, message="contains a NUL character or a lone surrogate, which cannot be stored")
        ]
    try:
        event = _event_adapter.validate_python(candidate)
    except ValidationError as error:
        details = error.errors(include_url=False)
    else:
        return ValidEvent(
            event_id=event.event_id, type=event.type, occurred_at=event.occurred_at, data=candidate["data"]
        )
    reasons = [_reason(detail, candidate) for detail in details]
    if any(reason.field == "type" for reason in reasons):
        try:
            _UnknownTypeEvent.model_validate(candidate)
        except ValidationError as envelope_error:
            reasons += [_reason(detail, candidate) for detail in envelope_error.errors(include_url=False)]
    return reasons


def _unstorable_text(value: Any, path: str) -> str | None:
    """The path of the first string jsonb cannot hold (NUL, lone surrogates), if any."""
    if isinstance(value, str):
        return path if "\x00" in value or _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if (found := _unstorable_text(key, child)) or (found := _unstorable_text(item, child)):
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if found := _unstorable_text(item, f"{path}.{index}"):
                return found
    return None


def _reason(detail: Any, candidate: dict[str, Any]) -> Reason:
    if detail["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return Reason(field="type", message=f"must be one of: {', '.join(EVENT_TYPES)}")
    location = list(detail["loc"])
    # The discriminated union puts the event type first; the field path follows.
    if location and location[0] == candidate.get("type"):
        location = location[1:]
    message = str(detail["msg"]).removeprefix("Value error, ")
    if detail["type"] in ("model_type", "dict_type"):
        message = "must be a JSON object"
    if detail["type"] == "extra_forbidden":
        message = "is not an event field (put additional attributes in data)"
    return Reason(field=".".join(str(part) for part in location), message=message)


def json_schema() -> dict[str, Any]:
    schema = _event_adapter.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Booking Pulse event"
    return schema


def events_markdown() -> str:
    """The table of event types in docs/events.md, generated from the registry."""
    lines = ["| type | what it says | required in `data` | optional in `data` |", "| --- | --- | --- | --- |"]
    for model in EVENT_MODELS:
        data = data_model(model)
        fields = data.model_fields
        required = ", ".join(f"`{name}`" for name, info in fields.items() if info.is_required())
        optional = ", ".join(f"`{name}`" for name, info in fields.items() if not info.is_required()) or "—"
        lines.append(f"| `{type_name(model)}` | {(data.__doc__ or '').strip()} | {required} | {optional} |")
    return "\n".join(lines) + "\n"
