"""Control-room intelligence as JSON: computed OPEL and the funnel-plot league.

The services hand over typed answers (`hub.services.opel`, `hub.services.league`);
only here do they become bodies. Proportions become percentages here, and times ISO 8601.
"""

from __future__ import annotations

from hub.api.json_types import JsonObject, JsonValue
from hub.api.render import scope_json
from hub.domain.funnel import Funnel, Limits
from hub.domain.opel import Opel, Scored
from hub.domain.timestamps import format_utc_ms
from hub.services.league import METHOD, League
from hub.services.opel import OpelSummary, TrustOpel
from hub.services.opel_inputs import TrustReading

CURVE_POINTS = 48


def opel_org_json(answer: TrustOpel) -> JsonObject:
    """Return the body of `GET /v1/opel/org/{code}`."""
    config, opel = answer.config, answer.opel
    cut_offs: JsonObject = {str(n): c for n, c in zip((2, 3, 4), config.cut_offs, strict=True)}
    excluded: list[JsonValue] = [
        {"name": s.parameter.name, "status": s.status, "reason": s.reason}
        for s in opel.scored
        if s.contribution is None
    ]
    return {
        "framework": config.framework,
        "version": config.version,
        "scope": {"type": "org", "code": answer.org.code, "name": answer.org.name},
        "score": opel.score,
        "level": opel.level,
        "reason": opel.reason,
        "scale": {"best": 1.0, "worst": 4.0},
        "cut_offs": cut_offs,
        "coverage": {
            "weight_counted": opel.weight_counted,
            "weight_total": config.total_weight,
            "pct": opel.coverage_pct,
            "minimum_pct": config.min_coverage_pct,
        },
        "excluded": excluded,
        "computed_at": format_utc_ms(answer.at_ms),
        "parameters": [_parameter(s) for s in opel.scored],
        "declared": _declared(answer.reading),
    }


def opel_summary_json(answer: OpelSummary) -> JsonObject:
    """Return the body of `GET /v1/opel/region/{code}` or `/v1/opel/national`."""
    computed, declared = answer.counts()
    return {
        "framework": answer.config.framework,
        "scope": scope_json(answer.scope),
        "computed_at": format_utc_ms(answer.at_ms),
        "computed": computed,
        "declared": declared,
        "organisations": [_row(o.code, o.name, opel, r) for o, opel, r in answer.rows],
    }


def _row(code: str, name: str, opel: Opel, reading: TrustReading) -> JsonObject:
    return {
        "code": code,
        "name": name,
        "computed_level": opel.level,
        "reason": opel.reason,
        "declared": _declared(reading),
    }


def _parameter(s: Scored) -> JsonObject:
    p = s.parameter
    return {
        "name": p.name,
        "label": p.label,
        "input": p.input,
        "value": None if s.value is None else round(s.value, 2),
        "unit": p.unit,
        "window": p.window,
        "worse": p.worse,
        "thresholds": list(p.thresholds),
        "band": s.band,
        "points": s.points,
        "weight": p.weight,
        "next_band_at": s.next_band_at,
        "status": s.status,
        "reason": s.reason,
        "contribution": s.contribution,
        "min_count": p.min_count or None,
        "count": s.count,
        "stale": s.status == "stale",
        "source": p.source,
    }


def _declared(reading: TrustReading) -> JsonObject | None:
    if reading.declared_level is None or reading.declared_date is None:
        return None
    return {"level": reading.declared_level, "date": reading.declared_date.isoformat()}


def league_json(league: League) -> JsonObject:
    """Return the body of `GET /v1/league`: organisations by name, with both sets of limits."""
    funnel, names = league.funnel, league.names
    units: list[JsonValue] = [
        {
            "code": p.unit.code,
            "name": names[p.unit.code],
            "value": pct(p.proportion),
            "numerator": p.unit.numerator,
            "denominator": p.unit.denominator,
            "z": round(p.z, 4),
            "limits": _limits(p.limits),
            "flag": p.flag,
            "unadjusted_limits": _limits(p.unadjusted or p.limits),
            "flag_unadjusted": p.flag_unadjusted,
            "marked": p.marked,
        }
        for p in sorted(funnel.units, key=lambda p: names[p.unit.code])
    ]
    return {
        "metric": league.metric.id,
        "description": league.metric.description,
        "better": league.metric.better,
        "window": league.window,
        "kind": league.kind,
        "as_of": format_utc_ms(league.at_ms),
        "target": pct(funnel.target),
        "method": METHOD,
        "overdispersion": {"phi": funnel.phi, "tau2": funnel.tau2, "adjusted": funnel.tau2 > 0},
        "units": units,
        "no_data": list(league.no_data),
        "curve": curve(funnel, league.largest),
    }


def curve(funnel: Funnel, largest: int) -> list[JsonValue]:
    """Return both funnels' limits at denominators spread evenly on a log scale, for drawing."""
    out: list[JsonValue] = []
    top = max(largest * 1.2, 10.0)
    last = 0
    for i in range(CURVE_POINTS):
        n = max(1, round(top ** (i / (CURVE_POINTS - 1))))
        lim, plain = funnel.limits_at(n), funnel.limits_at(n, adjusted=False)
        if lim is not None and plain is not None and n != last:
            out.append({"denominator": n} | _limits(lim) | {"unadjusted": _limits(plain)})
            last = n
    return out


def pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 4)


def _limits(lim: Limits) -> JsonObject:
    return {
        "lower95": pct(lim.lower95),
        "upper95": pct(lim.upper95),
        "lower998": pct(lim.lower998),
        "upper998": pct(lim.upper998),
    }
