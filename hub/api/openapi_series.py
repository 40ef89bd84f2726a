"""The OpenAPI description of a series answer: its points and, on request, its SPC.

Hourly points are judged against their own expected band (a seasonal chart); daily
points (and SitReps) against one XmR chart of the points themselves.
"""

from __future__ import annotations

from typing import Any

NUMBER_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
STRING_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
FLAGS: dict[str, Any] = {
    "special_cause": {
        "type": ["string", "null"],
        "enum": ["beyond_limit", "two_of_three", "shift", "trend", None],
    },
    "side": {"type": ["string", "null"], "enum": ["high", "low", None]},
    "kind": {"type": ["string", "null"], "enum": ["improvement", "concern", "neutral", None]},
}
BAND: dict[str, Any] = {
    "expected": NUMBER_OR_NULL
    | {"description": "what this hour usually is: pooled from the same London hour of the week "
                      "in up to 4 earlier weeks (from 2), else of the day in up to 7 earlier days "
                      "(from 3); null with too little history"},
    "lower": NUMBER_OR_NULL | {"description": "the band's lower process limit"},
    "upper": NUMBER_OR_NULL | {"description": "the band's upper process limit"},
    "season": {"type": ["string", "null"], "enum": ["week", "day", None]},
}  # fmt: skip
POINT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "start": {"type": "string"},
        "end": {"type": "string"},
        "value": {"type": ["number", "object", "null"]},
        "complete": {"type": "boolean"},
        "date": {"type": "string"},
        "coverage": {"type": "object"},
        **FLAGS,
        **BAND,
    },
    "required": ["start", "end", "value", "complete"],
}
LIMITS = ("mean", "mean_moving_range", "upper_limit", "lower_limit")
SHARED: dict[str, Any] = {
    "direction": {"type": "string", "enum": ["increase", "decrease", "neutral"]},
    "target": NUMBER_OR_NULL,
    "points_used": {"type": "integer"},
    "trial_limits": {"type": "boolean"},
    "variation": {"type": "string"},
    "assurance": STRING_OR_NULL,
}
XMR: dict[str, Any] = {
    "type": "object",
    "description": "daily points: mean ± 2.66 mean moving range of the complete points",
    "properties": {
        "chart": {"const": "xmr"},
        **SHARED,
        **{k: NUMBER_OR_NULL for k in LIMITS},
        "upper_outer_third": NUMBER_OR_NULL,
        "lower_outer_third": NUMBER_OR_NULL,
    },
    "required": ["chart", *SHARED, *LIMITS],
}
SEASONAL: dict[str, Any] = {
    "type": "object",
    "description": (
        "hourly points: each hour's departure from its expected value, standardised by the "
        "chance spread its size implies (Laney p′/u′), on an XmR chart whose limits rest on "
        "the week before the first point (`baseline_points` departures); each point's band "
        "is those limits in its own units. Percentages and means on under 10 events are "
        "shown, not judged; hours a feed behind the figure was down are not judged"
    ),
    "properties": {
        "chart": {"const": "seasonal"},
        **SHARED,
        "baseline_points": {"type": "integer"},
        "departures": {
            "type": "object",
            "properties": {k: NUMBER_OR_NULL for k in LIMITS},
            "required": list(LIMITS),
        },
    },
    "required": ["chart", *SHARED, "baseline_points", "departures"],
}
SERIES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "metric": {"type": "string"},
        "unit": {"type": "string"},
        "description": {"type": "string"},
        "scope": {"type": "object"},
        "resolution": {"type": "string", "enum": ["hour", "day"]},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "as_of": {"type": "string"},
        "points": {"type": "array", "items": POINT},
        "spc": {"oneOf": [XMR, SEASONAL]},
    },
    "required": ["metric", "unit", "scope", "resolution", "points"],
}
