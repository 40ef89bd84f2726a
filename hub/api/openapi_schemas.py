"""The OpenAPI component schemas: each feed's record (from the feed tables) and each body shape."""

from __future__ import annotations

from hub.api.json_types import JsonObject
from hub.domain.feeds import FEEDS, Feed, FieldSpec, FieldType

_TYPES: dict[FieldType, JsonObject] = {
    FieldType.TEXT: {"type": "string", "minLength": 1, "maxLength": 64},
    FieldType.ORG: {"type": "string", "description": "organisation code (ODS), e.g. RX9"},
    FieldType.SITE: {"type": "string", "description": "hospital site code (ODS), e.g. RWEAA"},
    FieldType.TIMESTAMP: {
        "type": "string",
        "description": "ISO 8601; without an offset it is Europe/London local time",
        "example": "2026-11-23T09:15:00Z",
    },
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.COUNT: {"type": "integer", "minimum": 0, "maximum": 1_000_000_000},
    FieldType.NUMBER: {"type": "number", "minimum": 0, "maximum": 1_000_000_000},
}

OBJECT: JsonObject = {"type": "object"}


def _field_schema(spec: FieldSpec) -> JsonObject:
    if spec.type is FieldType.CHOICE:
        schema: JsonObject = {"type": "string", "enum": list(spec.choices)}
        if all(c.isdigit() for c in spec.choices):
            schema = {"type": "integer", "enum": [int(c) for c in spec.choices]}
    else:
        schema = dict(_TYPES[spec.type])
    if spec.description:
        schema["description"] = spec.description
    if not spec.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def feed_schema(feed: Feed) -> JsonObject:
    """Return the JSON Schema of one feed's records."""
    return {
        "type": "object",
        "description": f"A {feed.name} record; its key is ({', '.join(feed.key_fields)}).",
        "properties": {spec.name: _field_schema(spec) for spec in feed.fields},
        "required": [spec.name for spec in feed.fields if spec.required],
        "additionalProperties": False,
    }


def record_name(feed: Feed) -> str:
    """Return the component name of a feed's record schema, e.g. AmbulanceHandoverRecord."""
    return "".join(part.capitalize() for part in feed.name.replace("-", " ").split()) + "Record"


def _strings(*names: str) -> JsonObject:
    return {name: {"type": "string"} for name in names}


PROBLEM: JsonObject = {
    "type": "object",
    "description": "RFC 9457 problem details, with a sentence a person can act on.",
    "properties": {
        **_strings("type", "title", "detail"),
        "status": {"type": "integer"},
        "line": {"type": "integer", "description": "where an unparseable body broke"},
        "column": {"type": "integer"},
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FieldError"},
            "description": "the first 20 problems",
        },
        "errors_more": {"type": "integer", "description": "problems left out of `errors`"},
    },
    "required": ["title", "status", "detail"],
}

FIELD_ERROR: JsonObject = {
    "type": "object",
    "properties": _strings("field", "message"),
    "required": ["field", "message"],
}

REJECTION: JsonObject = {
    "type": "object",
    "properties": {
        "index": {"type": "integer", "description": "0-based position of the record in the body"},
        "line": {"type": "integer", "description": "CSV or NDJSON line of the record"},
        "key": {"type": "string", "description": "the entity key as submitted, when complete"},
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FieldError"},
            "description": "the record's first 20 problems",
        },
        "errors_more": {"type": "integer", "description": "problems left out of `errors`"},
    },
    "required": ["index", "errors"],
}

REJECTED_MORE: JsonObject = {
    "type": "object",
    "description": "the rejected records a receipt counts without listing them: present only "
    "when `rejected` holds the first ones (at most 1,000, and 512 KiB), so that a receipt has a "
    "largest size whatever the body held; `received` = `accepted` + len(`rejected`) + `records`",
    "properties": {
        "records": {"type": "integer", "description": "rejected records not listed"},
        "by_field": {
            "type": "array",
            "description": "of those, how many had a problem with each field, most first; at "
            "most 20 fields are named, and `field` null counts problems with any other",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "records": {"type": "integer"},
                    "example": {"type": "string", "description": "one of the problems"},
                },
                "required": ["field", "records", "example"],
            },
        },
    },
    "required": ["records", "by_field"],
}

RECEIPT: JsonObject = {
    "type": "object",
    "properties": {
        **_strings("submission_id", "feed"),
        "received": {"type": "integer"},
        "accepted": {
            "type": "integer",
            "description": "records durably written to Kafka (acks=all)",
        },
        "unchanged": {
            "type": "integer",
            "description": "of the accepted, those identical to the version already held",
        },
        "rejected": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Rejection"},
            "description": "the first rejected records, in full (all of them, unless "
            "`rejected_more` is present)",
        },
        "rejected_more": {"$ref": "#/components/schemas/RejectedMore"},
    },
    "required": ["submission_id", "feed", "received", "accepted", "unchanged", "rejected"],
}

TOKEN_REQUEST: JsonObject = {
    "type": "object",
    "properties": {
        "org": {"type": "string", "description": "organisation code, e.g. RX9"},
        "feeds": {
            "anyOf": [
                {"type": "array", "items": {"type": "string", "enum": list(FEEDS)}},
                {"type": "null"},
            ],
            "description": "feeds the token may submit; null or absent for all of its feeds",
        },
        "role": {"type": "string", "enum": ["submitter", "viewer"], "default": "submitter"},
        "name": {"type": "string", "maxLength": 80, "description": "a viewer's display name"},
        "job_role": {"type": "string", "maxLength": 80, "description": "e.g. Regional on-call"},
    },
    "required": ["org"],
}

TOKEN: JsonObject = {
    "type": "object",
    "properties": {
        **_strings("id", "org", "role"),
        "token": {"type": "string", "description": "the secret; shown only in this response"},
        "feeds": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        "name": {"type": ["string", "null"]},
        "job_role": {"type": ["string", "null"]},
    },
    "required": ["id", "token", "org", "feeds", "role"],
}

REJECTIONS: JsonObject = {
    "type": "object",
    "properties": {
        "org": {"type": "string"},
        "rejections": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "a dead letter: feed, reason, source, submitter org, original record",
                "properties": {
                    **_strings("id", "feed", "source", "received_at", "reason"),
                    "org": {"type": ["string", "null"]},
                    "errors": {"type": "array"},
                    "original": {},
                    "index": {"type": ["integer", "null"]},
                    "line": {"type": ["integer", "null"]},
                    "key": {"type": ["string", "null"]},
                    "truncated": {
                        "type": "boolean",
                        "description": "something was cut to keep the letter small: a long "
                        "`original` becomes {truncated, size, start}; `errors` keeps the first",
                    },
                    "errors_more": {"type": "integer", "description": "errors left out"},
                },
                "required": ["feed", "reason", "source", "errors"],
            },
        },
        "more": {
            "type": "boolean",
            "description": "present (true) when the answer stopped at its size bound (1 MiB) "
            "before `limit`",
        },
    },
    "required": ["org", "rejections"],
}


def schemas() -> JsonObject:
    """Return every component schema, keyed by name."""
    out: JsonObject = {record_name(f): feed_schema(f) for f in FEEDS.values()}
    out |= {
        "Problem": PROBLEM,
        "FieldError": FIELD_ERROR,
        "Rejection": REJECTION,
        "RejectedMore": REJECTED_MORE,
        "Receipt": RECEIPT,
        "TokenRequest": TOKEN_REQUEST,
        "Token": TOKEN,
        "Rejections": REJECTIONS,
    }
    return out
