"""`POST /v1/admin/tokens` and `DELETE /v1/admin/tokens/{id}`."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import principal, services
from hub.domain.errors import BodyUnparseable, FieldError, ValidationFailed


async def create_token(request: Request) -> Response:
    svc = services(request)
    who = await principal(request)
    svc.tokens.require_admin(who)
    try:
        doc = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyUnparseable(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BodyUnparseable('send a JSON object such as {"org": "RX9", "role": "submitter"}')
    org, feeds, role = doc.get("org"), doc.get("feeds"), doc.get("role", "submitter")
    name, job_role = doc.get("name"), doc.get("job_role")
    errors = [
        FieldError(f, f"{f} must be a string")
        for f, v in (("name", name), ("job_role", job_role))
        if v is not None and not isinstance(v, str)
    ]
    if not isinstance(org, str):
        errors.append(FieldError("org", "org is required: an organisation code such as RX9"))
    if feeds is not None and not (
        isinstance(feeds, list) and all(isinstance(f, str) for f in feeds)
    ):
        errors.append(FieldError("feeds", "feeds must be a list of feed names"))
    if not isinstance(role, str):
        errors.append(FieldError("role", "role must be 'submitter' or 'viewer'"))
    if errors or not isinstance(org, str) or not isinstance(role, str):
        raise ValidationFailed("the token request is invalid", tuple(errors))
    token, secret = await svc.tokens.create(org, feeds, role, _text(name), _text(job_role))
    if svc.audit is not None:
        await svc.audit.record(who.token_id, "token.create", {
            "id": token.id, "org": token.org, "role": token.role, "feeds": token.feeds,
            "name": token.name,
        })  # fmt: skip
    body = {
        "id": token.id,
        "token": secret,
        "org": token.org,
        "feeds": token.feeds,
        "role": token.role,
        "name": token.name,
        "job_role": token.job_role,
    }
    return JSONResponse(body, status_code=201)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def revoke_token(request: Request) -> Response:
    svc = services(request)
    who = await principal(request)
    svc.tokens.require_admin(who)
    await svc.tokens.revoke(request.path_params["token_id"])
    if svc.audit is not None:
        await svc.audit.record(
            who.token_id, "token.revoke", {"id": request.path_params["token_id"]}
        )
    return Response(status_code=204)


async def audit(request: Request) -> Response:
    """`GET /v1/admin/audit?limit=&action=`: token administration and ingest receipts."""
    svc = services(request)
    svc.tokens.require_admin(await principal(request))
    raw_limit = request.query_params.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise ValidationFailed(
            "bad limit", (FieldError("limit", "limit must be a whole number from 1 to 1000"),)
        )
    action = request.query_params.get("action") or None
    events = [] if svc.audit is None else await svc.audit.recent(int(raw_limit), action)
    return JSONResponse({"events": events})
