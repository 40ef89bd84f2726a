"""Acknowledgements and notes: `/v1/alerts/{id}/ack` and `/v1/annotations` (issue 15).

Reading is open like the rest of the control room (a viewer token when
HUB_REQUIRE_VIEWER_TOKEN is on); writing needs a viewer token that carries a
display name, so every acknowledgement and note says who made it.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import principal, require_viewer, services
from hub.api.json_types import JsonObject
from hub.domain.errors import BodyUnparseable
from hub.services.acks import check_note


async def _json_object(request: Request, example: str) -> JsonObject:
    body = await request.body()
    if not body:
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyUnparseable(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BodyUnparseable(f"send a JSON object such as {example}")
    return doc


async def ack_status(request: Request) -> Response:
    """`GET /v1/alerts/{id}/ack`: the acknowledgement in force, and the group's audit trail."""
    await require_viewer(request)
    svc = services(request)
    alert_id = request.path_params["alert_id"]
    acks = await svc.acks.in_force()
    return JSONResponse(
        {
            "alert_id": alert_id,
            "ack": acks.get(alert_id),
            "history": await svc.acks.history(alert_id),
        }
    )


async def acknowledge(request: Request) -> Response:
    """`POST /v1/alerts/{id}/ack`: acknowledge an active alert group, with an optional note."""
    svc = services(request)
    who = await principal(request)
    name = svc.tokens.require_named_viewer(who)
    doc = await _json_object(request, '{"note": "Seen: HALO on site, divert agreed"}')
    note = check_note(doc.get("note"))
    group = await svc.alerts.group(request.path_params["alert_id"])
    return JSONResponse(await svc.acks.acknowledge(group, who, name, note), status_code=201)


async def audit(request: Request) -> Response:
    """`GET /v1/alerts/audit`: every acknowledgement and its ending, newest first."""
    await require_viewer(request)
    limit = request.query_params.get("limit", "100")
    count = int(limit) if limit.isdigit() else 100
    return JSONResponse({"events": await services(request).acks.history(None, count)})


async def list_annotations(request: Request) -> Response:
    """`GET /v1/annotations`: notes by scope, metric and time."""
    await require_viewer(request)
    return JSONResponse(await services(request).annotations.find(request.query_params))


async def add_annotation(request: Request) -> Response:
    """`POST /v1/annotations`: add a note about a scope (and metric) at a time."""
    svc = services(request)
    who = await principal(request)
    name = svc.tokens.require_named_viewer(who)
    doc = await _json_object(
        request, '{"scope": "org/RWE", "metric": "ed.four_hour_pct", "text": "ED IT outage"}'
    )
    return JSONResponse(await svc.annotations.add(doc, who, name), status_code=201)
