"""`POST /v1/feeds/{feed}` and `GET /v1/rejections`."""

from __future__ import annotations

import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.auth import limit_reads, principal, services
from hub.api.json_types import JsonObject
from hub.domain.errors import FieldError, Forbidden, PayloadTooLarge, ValidationFailed
from hub.domain.feeds import FEEDS
from hub.services.ingest import feed_named


async def read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def submit(request: Request) -> Response:
    svc = services(request)
    feed = feed_named(request.path_params["feed"])
    who = await principal(request)
    org = svc.tokens.require_submitter(who, feed.name)
    async with svc.limits.hold(who.token_id) if svc.limits else contextlib.nullcontext():
        body = await read_limited(request, svc.settings.max_body_bytes)
        receipt = await svc.ingest.submit(feed, org, request.headers.get("content-type"), body)
    if svc.audit is not None:
        await svc.audit.record(who.token_id, "ingest.receipt", {
            "org": org, "feed": feed.name, "submission_id": receipt.submission_id,
            "received": receipt.received, "accepted": receipt.accepted,
            "unchanged": receipt.unchanged, "rejected": receipt.rejected_count,
        })  # fmt: skip
    metrics = svc.ingest_metrics
    unchanged = receipt.unchanged
    for outcome, n in (
        ("accepted", receipt.accepted - unchanged),
        ("unchanged", unchanged),
        ("rejected", receipt.rejected_count),
    ):
        if n:
            metrics.records.labels(feed=feed.name, org=org, outcome=outcome).inc(n)
    if receipt.rejected_count:
        metrics.deadletters.labels(feed=feed.name, reason="invalid record").inc(
            receipt.rejected_count
        )
    metrics.requests.labels(feed=feed.name, status=str(receipt.status)).inc()
    return JSONResponse(receipt.to_dict(), status_code=receipt.status)


async def rejections(request: Request) -> Response:
    svc = services(request)
    who = await principal(request)
    limit_reads(request)
    if who.org is None:
        raise Forbidden("rejections are listed per organisation; use that organisation's token")
    feed = request.query_params.get("feed") or None
    if feed is not None and feed not in FEEDS:
        raise ValidationFailed("unknown feed", (FieldError("feed", f"{feed!r} is not a feed"),))
    raw_limit = request.query_params.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise ValidationFailed(
            "bad limit", (FieldError("limit", "limit must be a whole number from 1 to 1000"),)
        )
    items, cut = await svc.rejections.recent(who.org, feed, int(raw_limit))
    answer: JsonObject = {"org": who.org, "rejections": items}
    if cut:  # the answer's size bound was reached before `limit`
        answer["more"] = True
    return JSONResponse(answer)
