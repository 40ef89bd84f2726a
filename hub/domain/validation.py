"""Turn a raw record into a typed one, or into every reason it is unacceptable (SPEC §3).

`validate` runs once per record on the ingest and stream hot paths, so each
feed's fields are compiled at import into a plan of (name, required, reader),
and a call only walks its plan.

    result = validate(AMBULANCE_HANDOVER, raw, ref=ref, received_at=now, submitter_org="RX9")
    if isinstance(result, Invalid):
        ...  # result.errors: one FieldError per problem, each a sentence
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import partial
from typing import Any

from hub.domain.bounds import NAMES_LISTED
from hub.domain.errors import FieldError
from hub.domain.feeds import FEEDS, Feed, FeedKind, FieldSpec, FieldType
from hub.domain.orgs import ReferenceData
from hub.domain.records import RECORD_TYPES, Record
from hub.domain.timestamps import format_utc, parse_timestamp
from hub.domain.validation_cross import RULES
from hub.domain.validation_rules import (
    Context,
    Reject,
    Rule,
    kind,
    read_choice,
    read_count,
    read_date,
    read_int_choice,
    read_number,
    read_org,
    read_site,
    read_text,
    read_timestamp,
    show,
)

__all__ = [
    "Canonical",
    "Invalid",
    "canonical_key",
    "entity_key",
    "from_canonical",
    "to_canonical",
    "validate",
]

Canonical = dict[str, str | int | float | None]
Reader = Callable[[object, Context], Any]


@dataclass(frozen=True, slots=True)
class Invalid:
    """A record that was refused, with one error per problem found."""

    errors: tuple[FieldError, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    feed: Feed
    record_type: type[Record]
    steps: tuple[tuple[str, bool, Reader], ...]
    names: frozenset[str]
    rules: tuple[Rule, ...]
    unknown_hint: str
    writers: tuple[tuple[str, Callable[[Any], Any]], ...]  # record value -> canonical
    loaders: tuple[tuple[str, Callable[[Any], Any]], ...]  # canonical -> record value
    key_writers: tuple[tuple[str, Callable[[Any], Any]], ...]


def _int_choices(spec: FieldSpec) -> bool:
    return bool(spec.choices) and all(c.isdigit() for c in spec.choices)


def _reader(feed: Feed, spec: FieldSpec) -> Reader:
    name, type_ = spec.name, spec.type
    listing = ", ".join(spec.choices)
    if type_ is FieldType.TEXT:
        return partial(read_text, name)
    if type_ is FieldType.ORG:
        return partial(read_org, name, feed.org_role, feed.name)
    if type_ is FieldType.SITE:
        return partial(read_site, name)
    if type_ is FieldType.TIMESTAMP:
        return partial(read_timestamp, name, name == feed.event_time_field)
    if type_ is FieldType.DATE:
        window = feed.kind is FeedKind.SITREP and name == feed.event_time_field
        return partial(read_date, name, window)
    if type_ is FieldType.COUNT:
        return partial(read_count, name)
    if type_ is FieldType.NUMBER:
        return partial(read_number, name)
    if _int_choices(spec):
        return partial(read_int_choice, name, frozenset(int(c) for c in spec.choices), listing)
    return partial(read_choice, name, frozenset(spec.choices), listing)


def _canonical_codec(spec: FieldSpec) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Return (write, load) between a record's value and its canonical JSON-ready form."""
    if spec.type is FieldType.TIMESTAMP:
        return format_utc, _load_utc
    if spec.type is FieldType.DATE:
        return date.isoformat, date.fromisoformat
    if spec.type is FieldType.NUMBER:
        return float, float
    if spec.type is FieldType.COUNT or _int_choices(spec):
        return int, int
    return str, str


def _load_utc(text: str) -> datetime:
    """Read a timestamp as `format_utc` writes it, without the checks any input needs.

    Workers rebuild every trusted record from its canonical form, so this runs
    for every timestamp they read; anything of another shape is read as input is.
    """
    if len(text) in (20, 27) and text[-1] == "Z" and text[10] == "T" and text[19] in "Z.":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    return parse_timestamp(text)


def _plan(feed: Feed) -> _Plan:
    record_type = RECORD_TYPES[feed.name]
    if tuple(f.name for f in fields(record_type)) != feed.field_names:
        raise TypeError(f"{record_type.__name__} fields are not the {feed.name} fields in order")
    codecs = {spec.name: _canonical_codec(spec) for spec in feed.fields}
    return _Plan(
        feed=feed,
        record_type=record_type,
        steps=tuple((s.name, s.required, _reader(feed, s)) for s in feed.fields),
        names=frozenset(feed.field_names),
        rules=RULES.get(feed.name, ()),
        unknown_hint=f"{feed.name} records have only {', '.join(feed.field_names)}",
        writers=tuple((n, codecs[n][0]) for n in feed.field_names),
        loaders=tuple((n, codecs[n][1]) for n in feed.field_names),
        key_writers=tuple((n, codecs[n][0]) for n in feed.key_fields),
    )


_PLANS: dict[str, _Plan] = {name: _plan(feed) for name, feed in FEEDS.items()}


def _plan_for(feed: Feed) -> _Plan:
    plan = _PLANS.get(feed.name)
    if plan is None or (plan.feed is not feed and plan.feed != feed):
        plan = _plan(feed)
    return plan


def validate(
    feed: Feed,
    raw: Mapping[str, object],
    *,
    ref: ReferenceData,
    received_at: datetime,
    submitter_org: str | None = None,
) -> Record | Invalid:
    """Read one raw record of `feed`, returning the record or all of its field errors."""
    if received_at.tzinfo is None:  # a caller's bug, not bad input: naive times are ambiguous
        raise ValueError("received_at must be timezone-aware")
    plan = _plan_for(feed)
    items = _as_dict(raw)
    if items is None:
        return Invalid(
            (
                FieldError(
                    "record", f"a {feed.name} record must be an object of fields, not {kind(raw)}"
                ),
            )
        )
    ctx = Context(ref, received_at, submitter_org)
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, required, read in plan.steps:
        value = items.get(name)
        if isinstance(value, str):
            value = value.strip()
            if not value:
                value = None
        if value is None:
            if required:
                errors.append(FieldError(name, f"{name} is required"))
            else:
                values[name] = None
            continue
        try:
            values[name] = read(value, ctx)
        except Reject as exc:
            errors.append(FieldError(name, str(exc)))
    if not plan.names.issuperset(items):
        errors.extend(_unknown_fields(plan, items))
    for rule in plan.rules:
        rule(values, ref, errors)
    if errors:
        return Invalid(tuple(errors))
    return plan.record_type(*values.values())


def _as_dict(raw: object) -> dict[Any, object] | None:
    if type(raw) is dict:
        return raw
    if not isinstance(raw, Mapping):
        return None
    try:
        return dict(raw)
    except Exception:  # a Mapping we cannot read is a record we cannot accept
        return None


def _unknown_fields(plan: _Plan, items: dict[Any, object]) -> list[FieldError]:
    """Return one error per unknown field, for the first NAMES_LISTED, then one for the rest.

    A record can carry thousands of unknown fields; an error for each would
    make its rejection many times the record's own size.
    """
    extra = [key for key in items if key not in plan.names]
    errors = [
        FieldError(
            key if isinstance(key, str) and len(key) <= 64 else show(key),
            f"{show(key)} is not a field of {plan.feed.name}; {plan.unknown_hint}",
        )
        for key in extra[:NAMES_LISTED]
    ]
    rest = len(extra) - NAMES_LISTED
    if rest > 0:
        errors.append(
            FieldError(
                "record", f"and {rest:,} more fields that are not fields of {plan.feed.name}"
            )
        )
    return errors


def entity_key(feed: Feed, record: Record) -> str:
    """Return the record's entity key, e.g. 'RX9|H-123' or 'RX7|2026-11-23T10:15:00Z'."""
    return "|".join(write(getattr(record, name)) for name, write in _plan_for(feed).key_writers)


def canonical_key(feed: Feed, canonical: Mapping[str, object]) -> str:
    """Return the entity key of a record in canonical form (equal to `entity_key`'s)."""
    parts = [canonical[name] for name in feed.key_fields]
    return "|".join([p if p.__class__ is str else str(p) for p in parts])


def to_canonical(feed: Feed, record: Record) -> Canonical:
    """Return every field in canonical form, so that records meaning the same are equal."""
    out: Canonical = {}
    for name, write in _plan_for(feed).writers:
        value = getattr(record, name)
        out[name] = None if value is None else write(value)
    return out


def from_canonical(feed: Feed, data: Mapping[str, object]) -> Record:
    """Rebuild a record from its canonical form (as stored; assumed well formed)."""
    plan = _plan_for(feed)
    args: list[Any] = []
    for name, load in plan.loaders:
        value = data.get(name)
        args.append(None if value is None else load(value))
    return plan.record_type(*args)
