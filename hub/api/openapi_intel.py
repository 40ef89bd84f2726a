"""The OpenAPI description of the intelligence endpoints: OPEL, the league and forecasts.

Kept apart from `openapi.py` so each stays one screenful; `openapi.py` hands
in its helpers for control-room reads, parameters and problems.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.api.json_types import JsonObject, node
from hub.domain.day_windows import ROLLING_OR_DAY
from hub.domain.league import LEAGUE_METRICS
from hub.services.forecasts import FORECAST_METRICS

Op = Callable[..., JsonObject]
NUMBER_OR_NULL: JsonObject = {"type": ["number", "null"]}
INT_OR_NULL: JsonObject = {"type": ["integer", "null"]}
SCOPE: JsonObject = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "code": {"type": ["string", "null"]},
        "name": {"type": "string"},
    },
    "required": ["type", "code", "name"],
}
DECLARED: JsonObject = {
    "type": ["object", "null"],
    "properties": {
        "level": {"type": "integer", "minimum": 1, "maximum": 4},
        "date": {"type": "string", "format": "date"},
    },
    "required": ["level", "date"],
}
STATUS = {
    "type": "string",
    "enum": ["counted", "missing", "stale", "too_few"],
    "description": "counted in the score, or left out: not reported, its feed not live for "
    "the trust, or resting on fewer records than min_count",
}
PARAMETER: JsonObject = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "value": NUMBER_OR_NULL,
        "unit": {"type": "string"},
        "window": {"type": "string"},
        "band": {"type": ["string", "null"]},
        "points": {"type": ["integer", "null"], "minimum": 1, "maximum": 4},
        "weight": {"type": "number"},
        "next_band_at": NUMBER_OR_NULL,
        "status": STATUS,
        "reason": {"type": ["string", "null"], "description": "why it is left out"},
        "contribution": NUMBER_OR_NULL | {
            "description": "weight × points / weight counted (3 places); they add up to the score"
        },
        "count": INT_OR_NULL | {"description": "records a since-midnight value rests on"},
        "min_count": INT_OR_NULL,
        "stale": {"type": "boolean"},
    },
    "required": [
        "name", "value", "unit", "window", "band", "points", "next_band_at", "status",
        "reason", "contribution", "stale",
    ],
}  # fmt: skip
OPEL_ORG: JsonObject = {
    "type": "object",
    "properties": {
        "framework": {"type": "string"},
        "scope": SCOPE,
        "score": NUMBER_OR_NULL
        | {
            "description": "the weighted mean of the counted parameters' points: 1.0 when all "
            "are in their best band, 4.0 when all are in their worst"
        },
        "level": {"type": ["integer", "null"], "minimum": 1, "maximum": 4},
        "reason": {
            "type": ["string", "null"],
            "description": "why there is no level: 'insufficient inputs: …' when the counted "
            "parameters carry less than min_coverage_pct of the weight",
        },
        "cut_offs": {
            "type": "object",
            "description": "the score at which OPEL 2, 3 and 4 begin",
            "properties": {k: {"type": "number"} for k in ("2", "3", "4")},
        },
        "coverage": {
            "type": "object",
            "properties": {
                k: {"type": "number"}
                for k in ("weight_counted", "weight_total", "pct", "minimum_pct")
            },
        },
        "excluded": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "status": STATUS}},
        },
        "computed_at": {"type": "string"},
        "parameters": {"type": "array", "items": PARAMETER},
        "declared": DECLARED,
    },
    "required": [
        "framework", "score", "level", "reason", "cut_offs", "coverage", "excluded",
        "computed_at", "parameters", "declared",
    ],
}  # fmt: skip
COUNTS: JsonObject = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("1", "2", "3", "4", "none")},
    "required": ["1", "2", "3", "4", "none"],
}
OPEL_SUMMARY: JsonObject = {
    "type": "object",
    "properties": {
        "framework": {"type": "string"},
        "scope": SCOPE,
        "computed": COUNTS,
        "declared": COUNTS,
        "organisations": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["framework", "scope", "computed", "declared", "organisations"],
}
LIMITS: JsonObject = {
    "type": "object",
    "properties": {k: NUMBER_OR_NULL for k in ("lower95", "upper95", "lower998", "upper998")},
    "required": ["lower95", "upper95", "lower998", "upper998"],
}
FLAG: JsonObject = {"type": "string", "enum": ["above", "below", "within"]}
LEAGUE: JsonObject = {
    "type": "object",
    "properties": {
        "metric": {"type": "string"},
        "window": {"type": "string"},
        "target": NUMBER_OR_NULL,
        "method": {"type": "string", "description": "the method, with its sources"},
        "overdispersion": {
            "type": "object",
            "description": "φ (the winsorised mean of squared unadjusted z-scores) and the "
            "DerSimonian-Laird τ² that widens the adjusted limits (0: not over-dispersed)",
            "properties": {
                "phi": NUMBER_OR_NULL,
                "tau2": {"type": "number"},
                "adjusted": {"type": "boolean"},
            },
            "required": ["phi", "tau2", "adjusted"],
        },
        "units": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "value": {"type": "number"},
                    "numerator": {"type": "integer"},
                    "denominator": {"type": "integer"},
                    "z": {"type": "number"},
                    "limits": LIMITS,
                    "flag": FLAG | {"description": "against the adjusted 99.8% limits"},
                    "unadjusted_limits": LIMITS,
                    "flag_unadjusted": FLAG,
                    "marked": {
                        "type": "boolean",
                        "description": "beyond the unadjusted 99.8% limits but within the "
                        "adjusted ones: shown, not hidden by the over-dispersion",
                    },
                },
                "required": [
                    "code",
                    "name",
                    "value",
                    "numerator",
                    "denominator",
                    "z",
                    "limits",
                    "flag",
                    "unadjusted_limits",
                    "flag_unadjusted",
                    "marked",
                ],
            },
        },
        "curve": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["metric", "window", "target", "overdispersion", "units"],
}
INTERVAL_BOUND: JsonObject = {
    "type": ["number", "null"],
    "minimum": 0,
    "description": "null: under interval_history_hours of history, too little to give a range",
}
BAND: JsonObject = {"mean": {"type": "number", "minimum": 0}}
BAND |= {k: INTERVAL_BOUND for k in ("lower80", "upper80", "lower95", "upper95")}
SHARE: JsonObject = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
METHODS = ["ets_week", "ets_day", "seasonal_naive_24", "seasonal_naive_168"]
BACKTEST_REQUIRED = ["method", "mase", "mase_168", "evaluated_hours", "forecasts"]
BACKTEST: JsonObject = {
    "type": "object",
    "description": (
        "A rolling-origin backtest over the last week (at most) of held-out hours: from each "
        "as an origin, the next 24 hours forecast from the hours before it only"
    ),
    "properties": {
        "method": {"type": "string", "enum": METHODS},
        "mase": NUMBER_OR_NULL | {
            "description": "mean absolute error over the in-sample error of the same London "
                           "hour yesterday: below 1 beats it as it did in training"
        },
        "mase_168": NUMBER_OR_NULL | {
            "description": "the same error over the in-sample error of the same hour last "
                           "week (null under two weeks)"
        },
        "coverage80": SHARE,
        "coverage95": SHARE,
        "totals": {
            "type": "array",
            "description": "coverage of the intervals of the next 4, 8 and 24 hours' totals",
            "items": {
                "type": "object",
                "properties": {"hours": {"type": "integer"}, "coverage80": SHARE,
                               "coverage95": SHARE, "forecasts": {"type": "integer"}},
                "required": ["hours", "coverage80", "coverage95", "forecasts"],
            },
        },
        "evaluated_hours": {"type": "integer"},
        "forecasts": {"type": "integer"},
    },
    "required": BACKTEST_REQUIRED,
}  # fmt: skip
ACCURACY: JsonObject = {
    "oneOf": [{"type": "null"}, BACKTEST | {"required": [*BACKTEST_REQUIRED, "coverage80",
                                                       "coverage95", "totals"]}],
    "description": "the served method's backtest; null under 3 days of history",
}  # fmt: skip
FORECAST: JsonObject = {
    "type": "object",
    "properties": {
        "method": {
            "type": "string",
            "enum": METHODS[:3],
            "description": "ets_week: level × London hour-of-day × weekday profile (from two "
                           "weeks of history); ets_day: level × hour-of-day; seasonal_naive_24: "
                           "the same hour yesterday (under 3 days)",
        },
        "generated_at": {"type": "string"},
        "history_hours": {"type": "integer"},
        "missing_hours": {
            "type": "integer",
            "description": "hours of history left out because a feed behind them was down",
        },
        "interval_history_hours": {"type": "integer"},
        "points": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"start": {"type": "string"}, "end": {"type": "string"}, **BAND},
                "required": ["start", "end", *BAND],
            },
        },
        "totals": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"hours": {"type": "integer"}, **BAND},
                "required": ["hours", *BAND],
            },
        },
        "accuracy": ACCURACY,
        "baselines": {
            "type": "array",
            "description": "seasonal naive (same hour yesterday; same hour last week, from two "
                           "weeks) backtested on the same held-out origins",
            "items": BACKTEST,
        },
    },
    "required": ["method", "generated_at", "points", "totals", "accuracy", "baselines"],
}  # fmt: skip


def intel_paths(read: Op, param: Op, problem: Op, json: Op) -> JsonObject:
    """Return the paths of `/v1/opel/...`, `/v1/league` and `/v1/forecast`."""
    bad = {"400": problem("A bad parameter: the field named says why")}
    code = param("code", "path", {"type": "string"})
    scope = {"type": "string", "pattern": r"^(national|(region|org)/[A-Za-z0-9]+)$"}
    league = [
        param("metric", "query", {"type": "string", "enum": list(LEAGUE_METRICS)}, required=True),
        param("window", "query", {"type": "string", "enum": list(ROLLING_OR_DAY)}),
        param("kind", "query", {"type": "string", "enum": ["acute", "ambulance", "nhs111"]}),
    ]
    forecast = [
        param("metric", "query", {"type": "string", "enum": list(FORECAST_METRICS)}, required=True),
        param("scope", "query", scope | {"default": "national"}),
    ]
    paths: JsonObject = {
        "/v1/opel/org/{code}": read(
            "A trust's computed OPEL score and level, each parameter explained, beside its "
            "declared level",
            [code],
            **{"404": problem("Not an acute trust")},
        ),
        "/v1/opel/region/{code}": read(
            "Counts of computed and declared OPEL levels in a region",
            [code],
            **{"404": problem("Unknown region")},
        ),
        "/v1/opel/national": read("Counts of computed and declared OPEL levels in England"),
        "/v1/league": read("A proportion across organisations on a funnel plot", league, **bad),
        "/v1/forecast": read(
            "The next 24 hours of arrivals with 80%/95% intervals and measured accuracy",
            forecast,
            **bad,
            **{"404": problem("Unknown scope, or no forecast yet")},
        ),
    }
    bodies = {
        "/v1/opel/org/{code}": OPEL_ORG,
        "/v1/opel/region/{code}": OPEL_SUMMARY,
        "/v1/opel/national": OPEL_SUMMARY,
        "/v1/league": LEAGUE,
        "/v1/forecast": FORECAST,
    }
    for path, schema in bodies.items():
        node(paths, path, "get", "responses")["200"] = json("OK", schema)
    return paths
