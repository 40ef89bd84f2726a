"""`POST /v1/admin/tokens` and `DELETE /v1/admin/tokens/{id}`."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import principal, services
from hub.domain.errors import BodyUnparseable, FieldError, ValidationFailed


async def create_token(request: Request) -> Response:
    svc = services(request)
    svc.tokens.require_admin(await principal(request))
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
    svc.tokens.require_admin(await principal(request))
    await svc.tokens.revoke(request.path_params["token_id"])
    return Response(status_code=204)
