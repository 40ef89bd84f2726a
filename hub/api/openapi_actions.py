"""The OpenAPI description of issue 15's endpoints: acknowledgements, notes, the alerts stream.

Also adds `text/csv` (asked for with `Accept: text/csv` or `format=csv`) to
the tables that download: series, alerts, freshness and the league.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hub.api.json_types import JsonMap, JsonObject, node
from hub.domain.metrics import CATALOGUE

Op = Callable[..., JsonObject]
OBJECT: JsonObject = {"type": "object"}
CSV_TABLES = ("/v1/series", "/v1/alerts", "/v1/freshness", "/v1/league")
NOTE: JsonObject = {
    "type": ["string", "null"],
    "maxLength": 500,
    "description": "what was done or agreed",
}
ACK_REQUEST: JsonObject = {
    "type": "object",
    "properties": {"note": NOTE},
    "example": {"note": "Seen: HALO on site, divert agreed until 16:00"},
}
ANNOTATION_REQUEST: JsonObject = {
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


def with_csv(paths: JsonObject) -> None:
    """Let each downloadable table answer CSV too, with `format=csv` documented."""
    for path in CSV_TABLES:
        get = node(paths, path, "get")
        node(get, "responses", "200", "content")["text/csv"] = {
            "schema": {"type": "string", "description": "the same figures as the JSON, one row "
                       "per item; UTF-8 with a byte-order mark"}
        }  # fmt: skip
        fmt: JsonObject = {"name": "format", "in": "query", "required": False,
                           "schema": {"type": "string", "enum": ["json", "csv"]}}  # fmt: skip
        params = get.get("parameters")
        get["parameters"] = [*(params if isinstance(params, list) else []), fmt]


def _post(summary: str, schema: JsonMap, required: bool, responses: JsonMap,
          params: Sequence[JsonMap] | None = None) -> JsonObject:  # fmt: skip
    """Return a write operation of a named viewer."""
    op: JsonObject = {
        "summary": summary,
        "tags": ["alerts"],
        "security": [{"bearer": []}],
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}},
        "responses": responses,
    }
    if params:
        op["parameters"] = params
    return op


def limited(problem: Op) -> JsonObject:
    """Return the answers of a stream past a cap (alert and live streams share them)."""
    retry = {"Retry-After": {"schema": {"type": "integer"}}}
    return {
        "429": problem(
            "This token holds HUB_SSE_MAX_PER_TOKEN live and alert streams already, or this "
            "client made HUB_READ_REQUESTS_PER_MINUTE reads this minute"
        )
        | {"headers": retry},
        "503": problem(
            "Kafka or Redis is unavailable, or this process holds HUB_SSE_MAX_CONNECTIONS live "
            "and alert streams"
        )
        | {"headers": retry},
    }


def action_paths(read: Op, param: Op, problem: Op, json: Op) -> JsonObject:
    """Return the paths of `/v1/alerts/...` actions and `/v1/annotations`."""
    writer = {
        "400": problem("A bad field: the field named says why"),
        "401": problem("Missing, unknown or revoked token"),
        "403": problem("Not a viewer token with a display name"),
        "503": problem("Redis is unavailable; retry"),
    }
    example = "metric:ed.four_hour_pct:national"
    alert_id = param("alert_id", "path", {"type": "string", "example": example})
    scope = {"type": "string", "pattern": r"^(national|(region|org|site)/[A-Za-z0-9]+)$"}
    unknown = {"404": problem("Unknown scope")}
    ack = read("The acknowledgement in force on an alert group, and its audit trail", [alert_id])
    gone = {"404": problem("No active alert with this id (it may have cleared)")}
    ack["post"] = _post(
        "Acknowledge an active alert group, with an optional note; shown on every screen",
        ACK_REQUEST, False, {"201": json("The acknowledgement now in force"), **gone, **writer},
        [alert_id],
    )  # fmt: skip
    annotations = read("Notes by scope, metric and time, newest first", _note_params(param, scope),
                       **{"400": writer["400"]}, **unknown)  # fmt: skip
    annotations["post"] = _post("Add a note about a scope (and metric) at a time",
                                ANNOTATION_REQUEST, True,
                                {"201": json("The note"), **unknown, **writer})  # fmt: skip
    stream = read("Server-Sent Events: a page's alerts whenever they change, and note notices",
                  [param("scope", "query", scope)], **unknown, **limited(problem))  # fmt: skip
    node(stream, "get", "responses")["200"] = {
        "description": "A stream of `alerts`, `notes` and `heartbeat` events",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
    limit = param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200})
    audit = read("Every acknowledgement and its ending, newest first", [limit])
    return {
        "/v1/alerts/stream": stream,
        "/v1/alerts/audit": audit,
        "/v1/alerts/{alert_id}/ack": ack,
        "/v1/annotations": annotations,
    }


def _note_params(param: Op, scope: JsonMap) -> list[JsonObject]:
    return [
        param("scope", "query", scope),
        param("metric", "query", {"type": "string"}),
        param("from", "query", {"type": "string", "description": "ISO 8601; default 7 days back"}),
        param("to", "query", {"type": "string", "description": "ISO 8601; default now"}),
        param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
    ]
