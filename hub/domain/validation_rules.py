"""The rules of SPEC §3: how each field type is read (cross-field checks: `validation_cross`).

A field reader takes the raw value (never null or empty; strings already
stripped) and returns the value the record holds, or raises `Reject` with a
sentence naming the field and the value. Cross-field rules see only the fields
that were read successfully, so one bad field earns one error, not a cascade.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hub.domain.errors import FieldError
from hub.domain.orgs import ReferenceData
from hub.domain.timestamps import TimestampError, format_utc, london_date, parse_date
from hub.domain.timestamps import parse_timestamp as _parse_timestamp

FUTURE_TOLERANCE = timedelta(minutes=5)
EVENT_MAX_AGE = timedelta(days=7)
SITREP_AMENDMENT_DAYS = 14
TEXT_MAX_CHARS = 64
# Far above any real count or duration, yet low enough that every counter a
# record changes stays exact: a SitRep mean is stored as thousandths of
# (seconds × incidents), at most 604,800 × 10,000,000 × 1,000 ≈ 6.0e15, under
# 2^53 (exact in the JSON the apply script reads) and far under Redis's 64-bit
# integers. The limits also keep int() from ever meeting a huge string.
COUNT_LIMIT = 10_000_000
NUMBER_LIMIT = 604_800  # a week in seconds; hours lost and SitRep times stay far below it

ROLE_NAMES = {
    "acute": "an acute trust",
    "ambulance": "an ambulance service",
    "nhs111": "an NHS 111 provider",
}

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")

Values = dict[str, Any]  # field -> value read; a field that failed is absent
Rule = Callable[[Values, ReferenceData, list[FieldError]], None]


class Reject(Exception):
    """A field's value is unacceptable; the message is the whole sentence."""


class Context:
    """What a record is judged against: the reference data, who sent it, and when."""

    __slots__ = ("latest_time", "received_at", "ref", "submitter_org")

    def __init__(self, ref: ReferenceData, received_at: datetime, submitter_org: str | None):
        self.ref = ref
        self.received_at = received_at
        self.submitter_org = submitter_org
        self.latest_time = received_at + FUTURE_TOLERANCE


def kind(value: object) -> str:
    """Describe a value's JSON type for a message, e.g. 'a list'."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float | Decimal):
        return "a number"
    names: dict[type, str] = {str: "text", list: "a list", tuple: "a list", dict: "an object"}
    return names.get(type(value), f"a value of type {type(value).__name__}")


def show(value: object) -> str:
    """Write a raw value for a message: plain text bare, anything odd quoted, long values cut."""
    if isinstance(value, str):
        cut = value if len(value) <= 40 else value[:40] + "…"
        if cut.isprintable() and cut == value and value.strip() == value and value:
            return value
        # A lone surrogate would make the message itself unencodable as UTF-8.
        cut = cut.encode("utf-8", "backslashreplace").decode("utf-8")
        return json.dumps(cut, ensure_ascii=False)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if -(10**40) < value < 10**40 else "a very long number"
    if isinstance(value, float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    return kind(value)


def _suggest(code: str, known: dict[str, Any]) -> str:
    upper = code.upper()
    return f"; did you mean {upper}?" if upper != code and upper in known else ""


def read_text(name: str, value: object, ctx: Context) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(10**TEXT_MAX_CHARS) < value < 10**TEXT_MAX_CHARS:
            raise Reject(f"{name} ({show(value)}) is longer than {TEXT_MAX_CHARS} characters")
        value = str(int(value))
    if not isinstance(value, str):
        raise Reject(f"{name} must be text, not {kind(value)}")
    if len(value) > TEXT_MAX_CHARS:
        raise Reject(
            f"{name} ({show(value)}) is {len(value)} characters long; the limit is {TEXT_MAX_CHARS}"
        )
    bad = _CONTROL.search(value)
    if bad is not None:
        raise Reject(
            f"{name} ({show(value)}) contains a control character "
            f"(U+{ord(bad.group()):04X}), which an identifier may not contain"
        )
    return value


def read_org(name: str, role: str, feed: str, value: object, ctx: Context) -> str:
    if not isinstance(value, str):
        raise Reject(f"{name} must be an organisation code such as RX9, not {kind(value)}")
    org = ctx.ref.organisations.get(value)
    if org is None:
        raise Reject(
            f"{name} ({show(value)}) is not a known organisation code"
            + _suggest(value, ctx.ref.organisations)
        )
    if role not in org.roles:
        held = " and ".join(ROLE_NAMES.get(r, r) for r in org.roles)
        raise Reject(
            f"{value} ({org.name}) is {held}, not {ROLE_NAMES.get(role, role)}, "
            f"so it cannot be the {name} of an {feed} record"
        )
    if ctx.submitter_org is not None and value != ctx.submitter_org:
        raise Reject(
            f"this record belongs to {value} ({name}), but the token submits for "
            f"{ctx.submitter_org}; an organisation may only submit its own records"
        )
    return value


def read_site(name: str, value: object, ctx: Context) -> str:
    if not isinstance(value, str):
        raise Reject(f"{name} must be a hospital site code such as RWEAA, not {kind(value)}")
    if value not in ctx.ref.sites:
        raise Reject(
            f"{name} ({show(value)}) is not a known hospital site code"
            + _suggest(value, ctx.ref.sites)
        )
    return value


def read_timestamp(name: str, event_time: bool, value: object, ctx: Context) -> datetime:
    if not isinstance(value, str):
        raise Reject(
            f"{name} must be an ISO 8601 timestamp such as 2026-11-23T10:15:00Z, not {kind(value)}"
        )
    try:
        instant = _parse_timestamp(value)
    except TimestampError as exc:
        raise Reject(f"{name}: {exc}") from None
    if instant > ctx.latest_time:
        raise Reject(
            f"{name} ({format_utc(instant)}) is more than 5 minutes after the record "
            f"was received ({format_utc(ctx.received_at)}); it cannot be in the future"
        )
    if event_time and instant < ctx.received_at - EVENT_MAX_AGE:
        limit = format_utc(ctx.received_at - EVENT_MAX_AGE)
        raise Reject(
            f"{name} ({format_utc(instant)}) is too late: records more than 7 days "
            f"old are not accepted, and this one was received "
            f"{format_utc(ctx.received_at)} (the limit was {limit})"
        )
    return instant


def read_date(name: str, window: bool, value: object, ctx: Context) -> date:
    if not isinstance(value, str):
        raise Reject(f"{name} must be an ISO 8601 date such as 2026-11-23, not {kind(value)}")
    try:
        day = parse_date(value)
    except TimestampError as exc:
        raise Reject(f"{name}: {exc}") from None
    today = london_date(ctx.received_at)
    if day > today:
        raise Reject(
            f"{name} ({day}) is after the date it was received in London "
            f"({today}); it cannot be in the future"
        )
    if window and day == today:
        raise Reject(
            f"{name} ({day}) is today's date in London; a SitRep covers a whole previous "
            f"day (00:00 to 23:59), so the latest date accepted on {today} is "
            f"{today - timedelta(days=1)}"
        )
    earliest = today - timedelta(days=SITREP_AMENDMENT_DAYS)
    if window and day < earliest:
        raise Reject(
            f"{name} ({day}) is too late: a SitRep may be sent or amended for "
            f"{SITREP_AMENDMENT_DAYS} days, so on {today} the earliest date "
            f"accepted is {earliest}"
        )
    return day


def read_count(name: str, value: object, ctx: Context) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = int(value)
    elif isinstance(value, str) and value.isascii() and value.removeprefix("-").isdigit():
        if len(value.lstrip("-0")) > len(str(COUNT_LIMIT)):  # int() of a huge string is slow
            raise Reject(f"{name} ({show(value)}) is more than the limit of {COUNT_LIMIT:,}")
        number = int(value)
    else:
        raise Reject(f"{name} ({show(value)}) is not a whole number")
    if number < 0:
        raise Reject(f"{name} ({show(value)}) is negative; a count cannot be")
    if number > COUNT_LIMIT:
        raise Reject(f"{name} ({show(value)}) is more than the limit of {COUNT_LIMIT:,}")
    return number


def read_number(name: str, value: object, ctx: Context) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise Reject(f"{name} must be a number, not {kind(value)}")
    if isinstance(value, str) and _DECIMAL.fullmatch(value) is None:
        raise Reject(f"{name} ({show(value)}) is not a decimal number")
    if isinstance(value, int) and not -NUMBER_LIMIT <= value <= NUMBER_LIMIT:
        raise Reject(f"{name} ({show(value)}) is more than the limit of {NUMBER_LIMIT:,}")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # Decimal("sNaN")
        number = math.nan
    if math.isnan(number):
        raise Reject(f"{name} ({show(value)}) is not a number")
    if number < 0:
        raise Reject(f"{name} ({show(value)}) is negative; it cannot be")
    if number > NUMBER_LIMIT:
        raise Reject(f"{name} ({show(value)}) is more than the limit of {NUMBER_LIMIT:,}")
    return number + 0.0  # -0.0 becomes 0.0, so equal records compare equal


def read_choice(
    name: str, choices: frozenset[str], listing: str, value: object, ctx: Context
) -> str:
    if isinstance(value, str) and value in choices:
        return value
    raise Reject(f"{name} ({show(value)}) is not one of {listing}")


def read_int_choice(
    name: str, choices: frozenset[int], listing: str, value: object, ctx: Context
) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value in choices:
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 4:
        number = int(value)
        if number in choices and str(number) == value:
            return number
    raise Reject(f"{name} ({show(value)}) is not one of {listing}")
