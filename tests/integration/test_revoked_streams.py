"""A live stream opened with a token ends within seconds of the token being revoked."""

from __future__ import annotations

import asyncio
import time

import pytest

from hub.api.stream import RECHECK_S
from hub.settings import Settings
from tests.harness import running_api
from tests.integration.test_series_stream import events, next_event

pytestmark = pytest.mark.timeout(60)


async def test_revoking_a_viewer_token_closes_its_open_stream(settings: Settings) -> None:
    async with running_api(settings) as api:
        async with api.client(settings.admin_token) as admin:
            made = await admin.post("/v1/admin/tokens", json={"org": "RX9", "role": "viewer"})
            assert made.status_code == 201, made.text
        viewer = made.json()
        async with (
            api.client(viewer["token"]) as c,
            c.stream("GET", "/v1/stream", params={"scope": "org/RX9"}) as r,
        ):
            assert r.status_code == 200
            stream = events(r)
            assert (await next_event(stream, 10)).get("retry")  # the stream is open
            async with api.client(settings.admin_token) as admin:
                gone = await admin.delete(f"/v1/admin/tokens/{viewer['id']}")
                assert gone.status_code in (200, 204), gone.text
            revoked_at = time.monotonic()
            with pytest.raises(StopAsyncIteration):
                while True:  # frames already in flight may still arrive; then the end
                    await next_event(stream, RECHECK_S * 4)
            assert time.monotonic() - revoked_at < RECHECK_S * 3
        async with api.client(viewer["token"]) as c:
            again = await c.get("/v1/stream", params={"scope": "org/RX9"})
        assert again.status_code == 401


async def test_an_anonymous_stream_is_not_cut_by_revocations(settings: Settings) -> None:
    async with (
        running_api(settings) as api,
        api.client() as c,
        c.stream("GET", "/v1/stream", params={"scope": "org/RX9"}) as r,
    ):
        stream = events(r)

        async def read_all() -> None:
            async for _ in stream:
                pass

        # Past two re-checks the stream is still open: reading it only stops at the timeout.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(read_all(), RECHECK_S * 2 + 1)
