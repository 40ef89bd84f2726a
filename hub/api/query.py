"""Read endpoints for the control room: metrics, series, alerts and reference data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api import tables
from hub.api.auth import require_viewer, services
from hub.api.caching import cached_response, rendered
from hub.api.json_types import JsonObject
from hub.api.render import figures_json, freshness_json, series_json
from hub.domain.metrics import CATALOGUE
from hub.domain.rag import Threshold


async def metrics(request: Request) -> Response:
    await require_viewer(request)
    kind = request.path_params.get("kind")
    scope = "national" if kind is None else f"{kind}/{request.path_params['code']}"
    svc = services(request)
    snapshot = await svc.snapshots.get(svc.figures.resolve(scope))
    return cached_response(request, rendered(snapshot, figures_json))


async def freshness(request: Request) -> Response:
    await require_viewer(request)
    board = await services(request).freshness.board()
    if tables.wants_csv(request):
        return tables.freshness_csv(board)
    return JSONResponse(freshness_json(board))


async def organisations(request: Request) -> Response:
    await require_viewer(request)
    ref = services(request).ref
    return JSONResponse(
        {
            "regions": [
                {"code": r.code, "name": r.name}
                for r in sorted(ref.regions.values(), key=lambda r: r.code)
            ],
            "organisations": [
                {
                    "code": o.code,
                    "name": o.name,
                    "short_name": o.short_name or None,
                    "kind": o.kind,
                    "roles": list(o.roles),
                    "region": o.region,
                }
                for o in sorted(ref.organisations.values(), key=lambda o: o.code)
            ],
            "sites": [
                {"code": s.code, "name": s.name, "trust": s.trust}
                for s in sorted(ref.sites.values(), key=lambda s: s.code)
            ],
        }
    )


async def series(request: Request) -> Response:
    """`GET /v1/series`: a metric's hourly or daily points, with SPC when `spc=true`."""
    await require_viewer(request)
    svc = services(request)
    snapshot = await svc.series_snapshots.get(svc.series.request(request.query_params))
    if tables.wants_csv(request):
        return tables.series_csv(snapshot.value)
    return cached_response(request, rendered(snapshot, series_json))


async def alerts(request: Request) -> Response:
    """`GET /v1/alerts`: threshold breaches, SPC special causes and late feeds (`scope=` to filter)."""
    await require_viewer(request)
    scope = request.query_params.get("scope") or None
    body = await services(request).alerts.active(scope)
    return tables.alerts_csv(body) if tables.wants_csv(request) else JSONResponse(body)


async def catalogue(request: Request) -> Response:
    """`GET /v1/catalogue`: every metric's unit, scopes and RAG/SPC lines, for the dashboard."""
    await require_viewer(request)
    thresholds = services(request).thresholds
    figures = services(request).figures
    return JSONResponse(
        {
            "metrics": [
                {
                    "id": m.id,
                    "kind": m.kind.value,
                    "unit": m.unit,
                    "description": m.description,
                    "definition": m.defined,
                    "scopes": sorted(m.scope_types),
                    "roles": sorted(m.roles),
                    "threshold": _threshold(thresholds.get(m.id)),
                }
                | ({"over_minutes": figures.over_line_ms(m) / 60_000} if m.over_ms else {})
                for m in CATALOGUE.values()
            ]
        }
    )


def _threshold(t: Threshold | None) -> JsonObject | None:
    if t is None:
        return None
    return {
        "better": t.better,
        "green": t.green,
        "red": t.red,
        "window": t.window,
        "target": t.target,
    }
