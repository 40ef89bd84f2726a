"""`GET /openapi.json`: every endpoint, and every feed's record schema from the feed tables."""

from __future__ import annotations

from typing import Any

from hub.domain.feeds import FEEDS, Feed, FieldSpec, FieldType

_TYPES: dict[FieldType, dict[str, Any]] = {
    FieldType.TEXT: {"type": "string", "minLength": 1, "maxLength": 64},
    FieldType.ORG: {"type": "string", "description": "organisation code (ODS)"},
    FieldType.SITE: {"type": "string", "description": "hospital site code (ODS)"},
    FieldType.TIMESTAMP: {
        "type": "string",
        "description": "ISO 8601; without an offset it is Europe/London local time",
        "example": "2026-11-23T09:15:00Z",
    },
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.COUNT: {"type": "integer", "minimum": 0},
    FieldType.NUMBER: {"type": "number", "minimum": 0},
}


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    if spec.type is FieldType.CHOICE:
        schema: dict[str, Any] = {"enum": list(spec.choices)}
        if all(c.isdigit() for c in spec.choices):
            schema = {"type": "integer", "enum": [int(c) for c in spec.choices]}
    else:
        schema = dict(_TYPES[spec.type])
    if not spec.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def feed_schema(feed: Feed) -> dict[str, Any]:
    """Return the JSON Schema of one feed's records."""
    return {
        "type": "object",
        "properties": {spec.name: _field_schema(spec) for spec in feed.fields},
        "required": [spec.name for spec in feed.fields if spec.required],
        "additionalProperties": False,
    }


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _json(description: str, ref: str | None = None) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ref}"} if ref else {"type": "object"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ingest_paths() -> dict[str, Any]:
    return {
        "/v1/feeds/{feed}": {
            "post": {
                "summary": "Submit records of one feed",
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "feed",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(FEEDS)},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {
                                    "oneOf": [
                                        {"$ref": f"#/components/schemas/{_name(f)}"}
                                        for f in FEEDS.values()
                                    ]
                                },
                            }
                        },
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": _json("At least one record was accepted", "Receipt"),
                    "422": _json("No record was accepted", "Receipt"),
                    "400": _problem("The body could not be parsed"),
                    "401": _problem("Missing, unknown or revoked token"),
                    "403": _problem("The token may not submit this feed"),
                    "404": _problem("Unknown feed"),
                    "413": _problem("The body is over the limit"),
                    "415": _problem("Unsupported content type"),
                    "503": _problem("Kafka or Redis unavailable; retry after Retry-After seconds"),
                },
            }
        },
    }


def _name(feed: Feed) -> str:
    return "".join(part.capitalize() for part in feed.name.replace("-", " ").split()) + "Record"


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 description of the hub's HTTP API."""

    def get(summary: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "responses": {"200": _json("OK"), "404": _problem("Not found")},
            }
        }

    paths: dict[str, Any] = {
        **_ingest_paths(),
        "/v1/metrics/national": get("National metrics"),
        "/v1/metrics/{kind}/{code}": {
            "get": {
                "summary": "Metrics of a region, organisation or site",
                "parameters": [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["region", "org", "site"]},
                    },
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": _json("OK"), "404": _problem("Unknown scope")},
            }
        },
        "/v1/organisations": get("Reference data"),
        "/healthz": get("Process alive"),
    }
    schemas: dict[str, Any] = {_name(f): feed_schema(f) for f in FEEDS.values()}
    schemas["Problem"] = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
        "required": ["title", "status", "detail"],
    }
    schemas["Receipt"] = {
        "type": "object",
        "required": ["submission_id", "feed", "received", "accepted", "unchanged", "rejected"],
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "UEC Operational Data Hub", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
