"""`GET /openapi.json`: every endpoint, and every feed's record schema from the feed tables.

Each feed also gets its own path (`/v1/feeds/ambulance-handover`, …) whose
request body names that feed's record schema, so generated clients and
fuzzers know exactly what a feed takes; `/v1/feeds/{feed}` documents the
route itself, including `404` for an unknown feed.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.api.json_types import JsonMap, JsonObject, JsonValue, node
from hub.api.openapi_actions import action_paths, limited, with_csv
from hub.api.openapi_intel import intel_paths
from hub.api.openapi_metrics import metrics_body
from hub.api.openapi_schemas import OBJECT, record_name, schemas
from hub.api.openapi_series import SERIES
from hub.domain.feeds import FEEDS, Feed
from hub.domain.metrics import CATALOGUE, Kind

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearer": []}]
SCOPE_PATTERN = r"^(national|(region|org|site)/[A-Za-z0-9]+)$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> JsonObject:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _json(description: str, schema: JsonMap | None = None) -> JsonObject:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or OBJECT}},
    }


def _text(description: str, media: str) -> JsonObject:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


def _unavailable() -> JsonObject:
    response = _problem("Kafka or Redis is unavailable; retry after Retry-After seconds")
    response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return response


def _cached(op: JsonObject) -> JsonObject:
    """Add HTTP caching to a read: validators on 200, and 304 for a matching If-None-Match."""
    validators: JsonObject = {
        "ETag": {"schema": {"type": "string"}, "description": "weak: of the figures, not as_of"},
        "Last-Modified": {"schema": {"type": "string"}},
        "Cache-Control": {"schema": {"type": "string", "enum": ["max-age=1"]}},
    }
    responses = node(op, "get", "responses")
    node(responses, "200")["headers"] = validators
    responses["304"] = {"description": "Not modified: If-None-Match names the current ETag"}
    get = node(op, "get")
    params = get.get("parameters")
    before = list(params) if isinstance(params, list) else []
    get["parameters"] = [*before, _param("If-None-Match", "header", {"type": "string"})]
    return op


RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}}}


def _rate_limited() -> JsonObject:
    return {
        "429": _problem(
            "This client (its token, or its address without one) made HUB_READ_REQUESTS_PER_MINUTE"
            " reads this minute; see Retry-After"
        )
        | {"headers": RETRY_AFTER}
    }


def _param(name: str, where: str, schema: JsonMap, required: bool = False) -> JsonObject:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def _reader_auth() -> JsonObject:
    return {
        "401": _problem("HUB_REQUIRE_VIEWER_TOKEN is on and no valid token was sent"),
        "403": _problem("HUB_REQUIRE_VIEWER_TOKEN is on and the token is not a viewer's"),
    }


def _read(summary: str, params: Sequence[JsonMap] | None = None, **extra: JsonValue) -> JsonObject:
    """Return a control-room GET operation: open unless HUB_REQUIRE_VIEWER_TOKEN is on."""
    responses = {
        "200": _json("OK"),
        **_reader_auth(),
        **_rate_limited(),
        "503": _unavailable(),
        **extra,
    }
    op: JsonObject = {"summary": summary, "tags": ["query"], "security": OPTIONAL_BEARER}
    if params:
        op["parameters"] = params
    return {"get": op | {"responses": responses}}


def _metrics_body(op: JsonObject) -> JsonObject:
    """Name the metrics body's schema (every catalogue metric, described) as the 200 answer."""
    node(op, "get", "responses")["200"] = _json("OK", _ref("MetricsBody"))
    return op


def _records_body(feed: Feed | None) -> JsonObject:
    item = _ref(record_name(feed)) if feed else OBJECT
    columns = ", ".join(f.name for f in feed.fields) if feed else "the feed's fields"
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": item}},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "one JSON record per line"}
            },
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": f"a header row naming the columns ({columns}); an empty "
                    "cell is null; a BOM is tolerated",
                }
            },
        },
    }


def _submit(feed: Feed | None) -> JsonObject:
    responses = {
        "200": _json("At least one record was accepted", _ref("Receipt")),
        "422": _json("No record was accepted; each rejection says why", _ref("Receipt")),
        "400": _problem("The body could not be parsed (with line and column)"),
        "401": _problem("Missing, unknown or revoked token"),
        "403": _problem("The token may not submit this feed"),
        "413": _problem(
            "The body is over HUB_MAX_BODY_BYTES (default 10 MiB), or holds more records than "
            "HUB_MAX_BODY_RECORDS (default 250,000: CSV rows, NDJSON lines, array elements)"
        ),
        "429": _problem("Over the per-token rate or concurrency limit; see Retry-After"),
        "415": _problem("Unsupported content type"),
        "500": _problem("Kafka refused a message of the submission itself (not an outage)"),
        "503": _unavailable(),
    }
    if feed is None:
        responses["404"] = _problem("Unknown feed")
    op: JsonObject = {
        "summary": f"Submit {feed.name} records" if feed else "Submit records of one feed",
        "tags": ["ingest"],
        "security": BEARER,
        "requestBody": _records_body(feed),
        "responses": responses,
    }
    if feed is None:
        op["parameters"] = [_param("feed", "path", {"type": "string", "enum": list(FEEDS)})]
    return {"post": op}


def _ingest_paths() -> JsonObject:
    paths: JsonObject = {"/v1/feeds/{feed}": _submit(None)}
    paths |= {f"/v1/feeds/{feed.name}": _submit(feed) for feed in FEEDS.values()}
    limit: JsonObject = {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    paths["/v1/rejections"] = {
        "get": {
            "summary": "The caller's organisation's recent rejections, newest first",
            "tags": ["ingest"],
            "security": BEARER,
            "parameters": [
                _param("feed", "query", {"type": "string", "enum": list(FEEDS)}),
                _param("limit", "query", limit),
            ],
            "responses": {
                "200": _json("Rejections with their reasons", _ref("Rejections")),
                "400": _problem("A bad feed or limit"),
                "401": _problem("Missing, unknown or revoked token"),
                "403": _problem("The admin token has no organisation"),
                **_rate_limited(),
                "503": _unavailable(),
            },
        }
    }
    return paths


def _admin_paths() -> JsonObject:
    denied = {
        "401": _problem("Missing or unknown token"),
        "403": _problem("Not the admin token"),
        "503": _unavailable(),
    }
    create: JsonObject = {
        "summary": "Issue a token for an organisation (the secret is shown once)",
        "tags": ["admin"],
        "security": BEARER,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("TokenRequest")}},
        },
        "responses": {
            "201": _json("The new token", _ref("Token")),
            "400": _problem("A bad request: the field named says why"),
            **denied,
        },
    }
    revoke: JsonObject = {
        "summary": "Revoke a token; every API process refuses it from now on",
        "tags": ["admin"],
        "security": BEARER,
        "parameters": [_param("token_id", "path", {"type": "string"})],
        "responses": {
            "204": {"description": "Revoked"},
            "404": _problem("No such token"),
            **denied,
        },
    }
    audit: JsonObject = {
        "summary": "Token administration and ingest receipts, newest first",
        "tags": ["admin"],
        "security": BEARER,
        "parameters": [
            _param("limit", "query", {"type": "string", "pattern": "^[0-9]+$", "default": "100"}),
            _param(
                "action",
                "query",
                {"type": "string", "enum": ["token.create", "token.revoke", "ingest.receipt"]},
            ),
        ],
        "responses": {
            "200": _json("Audit events: at, actor (a token id), action, details"),
            "400": _problem("A bad parameter: the field named says why"),
            **denied,
        },
    }
    return {
        "/v1/admin/tokens": {"post": create},
        "/v1/admin/tokens/{token_id}": {"delete": revoke},
        "/v1/admin/audit": {"get": audit},
    }


def _query_paths() -> JsonObject:
    scope = {"type": "string", "pattern": SCOPE_PATTERN, "default": "national"}
    history = sorted(m.id for m in CATALOGUE.values() if m.kind is not Kind.GAUGE)
    series = [
        _param("metric", "query", {"type": "string", "enum": history}, required=True),
        _param("scope", "query", scope),
        _param("resolution", "query", {"type": "string", "enum": ["hour", "day"]}),
        _param("from", "query", {"type": "string", "description": "ISO 8601 time or date"}),
        _param("to", "query", {"type": "string", "description": "ISO 8601 time or date"}),
        _param("spc", "query", {"type": "string", "enum": ["true", "false"]}),
    ]
    bad = {"400": _problem("A bad parameter: the field named says why")}
    unknown = {"404": _problem("Unknown scope")}
    kind = _param("kind", "path", {"type": "string", "enum": ["region", "org", "site"]})
    code = _param("code", "path", {"type": "string"})
    return {
        "/v1/metrics/national": _cached(_metrics_body(_read("National metrics"))),
        "/v1/metrics/{kind}/{code}": _cached(
            _metrics_body(
                _read("Metrics of a region, organisation or site", [kind, code], **unknown)
            )
        ),
        "/v1/organisations": _read("Reference data: regions, organisations and sites"),
        "/v1/catalogue": _read("The metric catalogue with units, scopes and RAG lines"),
        "/v1/freshness": _read(
            "Feed freshness per feed and organisation, and per feed the records accepted but "
            "not yet applied (`application`: delayed past HUB_FIGURES_DELAYED_AFTER_S)"
        ),
        "/v1/series": _cached(
            _read(
                "A metric's hourly or daily points, with SPC on request",
                series,
                **{"200": _json("OK", SERIES)},
                **bad,
                **unknown,
            )
        ),
        "/v1/alerts": _read(
            "Active operational alerts", [_param("scope", "query", scope)], **bad, **unknown
        ),
        "/v1/stream": _stream(scope, {**bad, **unknown}),
    }


def _stream(scope: JsonMap, errors: JsonMap) -> JsonObject:
    params = [
        _param("scope", "query", {"type": "array", "items": scope}) | {"explode": True},
        _param("members", "query", {"type": "string", "enum": ["true", "false"]}),
    ]
    summary = (
        "Server-Sent Events: the scopes' metrics whenever they change "
        "(members=true adds the scopes below the first)"
    )
    stream = _read(summary, params, **errors, **limited(_problem))
    node(stream, "get", "responses")["200"] = _text(
        "A stream of `metrics` events", "text/event-stream"
    )
    return stream


def _ops_paths() -> JsonObject:
    def op(summary: str, responses: JsonMap) -> JsonObject:
        return {"get": {"summary": summary, "tags": ["ops"], "responses": responses}}

    return {
        "/healthz": op("The process is alive", {"200": _json("Alive")}),
        "/readyz": op(
            "Kafka and Redis are reachable",
            {
                "200": _json(
                    "Ready, or `degraded`: Redis has too few replicas, or figures are delayed "
                    "(`figures_delayed`: feeds whose accepted records wait to be applied)"
                ),
                "503": _json("Not ready: says which is unreachable"),
            },
        ),
        "/metrics": op(
            "Prometheus metrics", {"200": _text("Prometheus text format", "text/plain")}
        ),
        "/openapi.json": op("This description", {"200": _json("OpenAPI 3.1")}),
        "/": op("The control-room dashboard", {"200": _text("The dashboard page", "text/html")}),
    }


def openapi_document() -> JsonObject:
    """Return the OpenAPI 3.1 description of the hub's HTTP API."""
    paths = {
        **_ingest_paths(),
        **_admin_paths(),
        **_query_paths(),
        **intel_paths(_read, _param, _problem, _json),
        **action_paths(_read, _param, _problem, _json),
        **_ops_paths(),
    }
    with_csv(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "UEC Operational Data Hub",
            "version": "1",
            "description": "Ingest for trusts, queries for the control room. Errors are "
            "application/problem+json with a sentence saying what to change.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas() | {"MetricsBody": metrics_body()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
