"""A small client for the hub's HTTP API, with retries, used by `hub push` and the simulator.

A submission is retried when the hub answers 503 (Kafka or Redis down) or
cannot be reached; that is safe because re-sending a record the hub already
accepted changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

RETRY_STATUSES = {502, 503, 504}


class HubClientError(Exception):
    """The hub refused a request for a reason retrying cannot fix."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass
class RetryPolicy:
    attempts: int = 8
    first_delay_s: float = 0.5
    max_delay_s: float = 15.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(self.max_delay_s, float(retry_after))
        return float(min(self.max_delay_s, self.first_delay_s * 2**attempt))


class HubClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s)
        self._retry = retry or RetryPolicy()

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def submit(
        self, feed: str, body: bytes, content_type: str, token: str | None = None
    ) -> dict[str, Any]:
        """POST a body of records; return the receipt (for 200 and 422)."""
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self._send("POST", f"/v1/feeds/{feed}", content=body, headers=headers)
        if response.status_code in (200, 422):
            receipt: dict[str, Any] = response.json()
            return receipt
        raise HubClientError(response.status_code, _detail(response))

    async def create_token(
        self, org: str, role: str = "submitter", feeds: list[str] | None = None
    ) -> dict[str, Any]:
        response = await self._send(
            "POST", "/v1/admin/tokens", json={"org": org, "role": role, "feeds": feeds}
        )
        if response.status_code != 201:
            raise HubClientError(response.status_code, _detail(response))
        token: dict[str, Any] = response.json()
        return token

    async def revoke_token(self, token_id: str) -> None:
        response = await self._send("DELETE", f"/v1/admin/tokens/{token_id}")
        if response.status_code != 204:
            raise HubClientError(response.status_code, _detail(response))

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self._retry.attempts):
            try:
                response = await self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                wait = self._retry.delay(attempt, None)
                log.warning("%s %s failed (%s); retrying in %.1fs", method, url, exc, wait)
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                wait = self._retry.delay(attempt, response.headers.get("retry-after"))
                log.warning("%s %s: %d; retrying in %.1fs", method, url, response.status_code, wait)
            if attempt + 1 < self._retry.attempts:
                await asyncio.sleep(wait)
        raise HubClientError(503, f"gave up after {self._retry.attempts} attempts")


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text
