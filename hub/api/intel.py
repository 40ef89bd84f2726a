"""Control-room intelligence: computed OPEL, the funnel-plot league and arrival forecasts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api import tables
from hub.api.auth import require_viewer, services
from hub.api.render_intel import league_json, opel_org_json, opel_summary_json


async def opel_org(request: Request) -> Response:
    """`GET /v1/opel/org/{code}`: a trust's computed OPEL, each parameter explained."""
    await require_viewer(request)
    return JSONResponse(
        opel_org_json(await services(request).opel.org(request.path_params["code"]))
    )


async def opel_summary(request: Request) -> Response:
    """`GET /v1/opel/region/{code}` and `/v1/opel/national`: computed and declared counts."""
    await require_viewer(request)
    code = request.path_params.get("code")
    scope = "national" if code is None else f"region/{code}"
    return JSONResponse(opel_summary_json(await services(request).opel.summary(scope)))


async def league(request: Request) -> Response:
    """`GET /v1/league`: a proportion across organisations of one kind, on a funnel plot."""
    await require_viewer(request)
    league = await services(request).league.league(request.query_params)
    if tables.wants_csv(request):
        return tables.league_csv(league)
    return JSONResponse(league_json(league))


async def forecast(request: Request) -> Response:
    """`GET /v1/forecast`: the next 24 hours of a metric in a scope, with its accuracy."""
    await require_viewer(request)
    params = request.query_params
    body = await services(request).forecasts.get(
        params.get("metric", ""), params.get("scope") or "national"
    )
    return JSONResponse(body)
