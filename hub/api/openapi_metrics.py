"""The OpenAPI schema of a metrics body: every catalogue metric, described from the catalogue.

Each metric of SPEC §4 is a property of `metrics`, with its definition, kind
and unit, so the description and the figures served cannot drift apart. A
scope's body holds the metrics reported for it (an ambulance service has no
bed occupancy), so none is required.
"""

from __future__ import annotations

from hub.api.json_types import JsonObject
from hub.domain.metrics import CATALOGUE, GAUGE_HORIZON_MS, Kind, Metric
from hub.domain.windows import WINDOWS

_NUMBER_OR_NULL: JsonObject = {"type": ["number", "null"]}
_COMMON: JsonObject = {
    "unit": {"type": "string"},
    "rag": {"type": "string", "enum": ["green", "amber", "red", "none", "unknown"]},
    "judged": {
        "type": "object",
        "description": "what was judged when not the value itself: a share (`of`) or a "
        "count per unit (`per`), with the lines",
    },
    "quality": {"type": "object", "description": "the inputs' freshness, when not all live"},
}
_SHAPES: dict[Kind, JsonObject] = {
    Kind.WINDOW: {
        "windows": {
            "type": "object",
            "properties": {w: _NUMBER_OR_NULL for w in WINDOWS},
            "required": list(WINDOWS),
        }
    },
    Kind.GAUGE: {"value": _NUMBER_OR_NULL},
    Kind.SITREP: {
        "value": {"type": ["number", "object", "null"]},
        "date": {"type": ["string", "null"], "format": "date"},
        "coverage": {"type": ["object", "null"]},
    },
}
_KIND_WORDS = {
    Kind.WINDOW: "Rolling windows (15m, 1h, 4h, 24h)",
    Kind.GAUGE: "A value now",
    Kind.SITREP: "For the latest SitRep date submitted",
}


def _words(m: Metric) -> str:
    text = f"{m.defined}. {_KIND_WORDS[m.kind]}; unit: {m.unit}"
    if m.kind is Kind.GAUGE:
        hours = GAUGE_HORIZON_MS[m.gauge] // 3_600_000
        text += f"; counts what started in the last {hours} h and has not ended"
    if m.over_ms:
        text += (
            "; only those waiting longer than the line in config/thresholds.toml "
            "[response_standards_minutes] (ARP 90th centiles by default)"
        )
    return text


def metric_schema(m: Metric) -> JsonObject:
    """Return the schema of one metric's entry in a metrics body."""
    shape = _SHAPES[m.kind]
    return {
        "type": "object",
        "description": _words(m),
        "properties": _COMMON | shape,
        "required": ["unit", "rag", *shape],
    }


def metrics_body() -> JsonObject:
    """Return the schema of `GET /v1/metrics/...` (and of each live `metrics` event)."""
    return {
        "type": "object",
        "properties": {
            "scope": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "code": {"type": ["string", "null"]},
                    "name": {"type": "string"},
                },
                "required": ["type", "code", "name"],
            },
            "as_of": {"type": "string"},
            "metrics": {
                "type": "object",
                "description": "the metrics reported for the scope, by id (SPEC §4)",
                "properties": {m.id: metric_schema(m) for m in CATALOGUE.values()},
            },
        },
        "required": ["scope", "as_of", "metrics"],
    }
