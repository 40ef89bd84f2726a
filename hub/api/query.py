"""Read endpoints for the control room: metrics and reference data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import require_viewer, services


async def metrics(request: Request) -> Response:
    await require_viewer(request)
    kind = request.path_params.get("kind")
    scope = "national" if kind is None else f"{kind}/{request.path_params['code']}"
    return JSONResponse(await services(request).query.metrics(scope))


async def freshness(request: Request) -> Response:
    await require_viewer(request)
    return JSONResponse(await services(request).freshness.board())


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
