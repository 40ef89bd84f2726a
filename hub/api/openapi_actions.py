"""The OpenAPI description of issue 15's endpoints: acknowledgements, notes, the alerts stream.

Also adds `text/csv` (asked for with `Accept: text/csv` or `format=csv`) to
the tables that download: series, alerts, freshness and the league.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.domain.metrics import CATALOGUE

Op = Callable[..., dict[str, Any]]
OBJECT: dict[str, Any] = {"type": "object"}
CSV_TABLES = ("/v1/series", "/v1/alerts", "/v1/freshness", "/v1/league")
NOTE = {"type": ["string", "null"], "maxLength": 500, "description": "what was done or agreed"}
ACK_REQUEST: dict[str, Any] = {
    "type": "object",
    "properties": {"note": NOTE},
    "example": {"note": "Seen: HALO on site, divert agreed until 16:00"},
}
ANNOTATION_REQUEST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "scope": {"type": "string", "example": "org/RWE"},
        "metric": {"type": ["string", "null"], "enum": [*sorted(CATALOGUE), None]},
        "at": {"type": ["string", "null"], "description": "ISO 8601; the time the note is about"},
        "until": {"type": ["string", "null"], "description": "ISO 8601; the end of a period"},
        "text": {"type": "string", "minLength": 1, "maxLength": 500},
    },
    "required": ["scope", "text"],
}


def with_csv(paths: dict[str, Any]) -> None:
    """Let each downloadable table answer CSV too, with `format=csv` documented."""
    for path in CSV_TABLES:
        get = paths[path]["get"]
        get["responses"]["200"]["content"]["text/csv"] = {
            "schema": {"type": "string", "description": "the same figures as the JSON, one row "
                       "per item; UTF-8 with a byte-order mark"}
        }  # fmt: skip
        fmt = {"name": "format", "in": "query", "required": False,
               "schema": {"type": "string", "enum": ["json", "csv"]}}  # fmt: skip
        get.setdefault("parameters", []).append(fmt)


def action_paths(read: Op, param: Op, problem: Op, json: Op) -> dict[str, Any]:
    """Return the paths of `/v1/alerts/...` actions and `/v1/annotations`."""
    writer = {
        "401": problem("Missing, unknown or revoked token"),
        "403": problem("Not a viewer token with a display name"),
        "503": problem("Redis is unavailable; retry"),
    }
    alert_id = param(
        "alert_id", "path", {"type": "string", "example": "metric:ed.four_hour_pct:national"}
    )
    bad = {"400": problem("A bad field: the field named says why")}
    post_ack = {
        "summary": "Acknowledge an active alert group, with an optional note; shown on every screen",
        "tags": ["alerts"],
        "security": [{"bearer": []}],
        "parameters": [alert_id],
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": ACK_REQUEST}},
        },
        "responses": {
            "201": json("The acknowledgement now in force"),
            "404": problem("No active alert with this id (it may have cleared)"),
            **bad,
            **writer,
        },
    }
    post_note = {
        "summary": "Add a note about a scope (and metric) at a time",
        "tags": ["alerts"],
        "security": [{"bearer": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ANNOTATION_REQUEST}},
        },
        "responses": {"201": json("The note"), "404": problem("Unknown scope"), **bad, **writer},
    }
    scope = {"type": "string", "pattern": r"^(national|(region|org|site)/[A-Za-z0-9]+)$"}
    notes = [
        param("scope", "query", scope),
        param("metric", "query", {"type": "string"}),
        param("from", "query", {"type": "string", "description": "ISO 8601; default 7 days back"}),
        param("to", "query", {"type": "string", "description": "ISO 8601; default now"}),
        param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
    ]
    unknown = {"404": problem("Unknown scope")}
    stream = read("Server-Sent Events: a page's alerts whenever they change, and note notices",
                  [param("scope", "query", scope)], **unknown)  # fmt: skip
    stream["get"]["responses"]["200"] = {
        "description": "A stream of `alerts`, `notes` and `heartbeat` events",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
    ack = read("The acknowledgement in force on an alert group, and its audit trail", [alert_id])
    ack["post"] = post_ack
    annotations = read("Notes by scope, metric and time, newest first", notes, **bad, **unknown)
    annotations["post"] = post_note
    audit = read("Every acknowledgement and its ending, newest first",
                 [param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200})])  # fmt: skip
    return {
        "/v1/alerts/stream": stream,
        "/v1/alerts/audit": audit,
        "/v1/alerts/{alert_id}/ack": ack,
        "/v1/annotations": annotations,
    }
