"""A small client for the hub's HTTP API, with retries, used by `hub push` and the simulator.

A submission is retried when the hub answers 503 (Kafka or Redis down) or
cannot be reached; that is safe because re-sending a record the hub already
accepted changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
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
        """Return how long to wait before retry `attempt` (0-based): Retry-After, else backoff."""
        if retry_after and retry_after.isdigit():
            return min(self.max_delay_s, float(retry_after))
        # Jitter spreads out many clients retrying after the same outage.
        backoff = min(self.max_delay_s, self.first_delay_s * 2.0**attempt)
        return backoff * random.uniform(0.75, 1.0)


class HubClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s)
        self._retry = retry or RetryPolicy()
        self._on_retry = on_retry  # told why and for how long each retry waits

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
        self,
        org: str,
        role: str = "submitter",
        feeds: list[str] | None = None,
        person: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Issue a token; `person` may give a viewer's `name` and `job_role`."""
        body = {"org": org, "role": role, "feeds": feeds} | (person or {})
        response = await self._send("POST", "/v1/admin/tokens", json=body)
        if response.status_code != 201:
            raise HubClientError(response.status_code, _detail(response))
        token: dict[str, Any] = response.json()
        return token

    async def revoke_token(self, token_id: str) -> None:
        response = await self._send("DELETE", f"/v1/admin/tokens/{token_id}")
        if response.status_code != 204:
            raise HubClientError(response.status_code, _detail(response))

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        why = "no attempt made"
        for attempt in range(self._retry.attempts):
            try:
                response = await self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                wait = self._retry.delay(attempt, None)
                why = f"the hub could not be reached ({type(exc).__name__}: {exc})"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                wait = self._retry.delay(attempt, response.headers.get("retry-after"))
                why = f"the hub answered {response.status_code}: {_detail(response)}"
            if attempt + 1 < self._retry.attempts:
                log.warning("%s %s: %s; retrying in %.1fs", method, url, why, wait)
                if self._on_retry is not None:
                    self._on_retry(f"{why}; retrying in {wait:.0f}s")
                await asyncio.sleep(wait)
        raise HubClientError(503, f"gave up after {self._retry.attempts} attempts: {why}")


def _detail(response: httpx.Response) -> str:
    """Return a problem's detail and field errors as one line, or the body as it is."""
    try:
        problem = response.json()
    except ValueError:
        return response.text
    if not isinstance(problem, dict):
        return response.text
    errors = problem.get("errors") or []
    fields = "; ".join(
        f"{e.get('field')}: {e.get('message')}" for e in errors if isinstance(e, dict)
    )
    detail = str(problem.get("detail", response.text))
    return f"{detail} ({fields})" if fields else detail
