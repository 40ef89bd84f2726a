"""A seeded hub and headless Debian Chromium (driven by Playwright) for the dashboard tests.

Chromium missing: the tests skip locally but fail under CI=true, where a skip
would hide that nothing was checked. Screenshots and timings go to
test-artifacts/browser/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.browser import seed
from tests.conftest import CONFIG, ROOT
from tests.harness import RunningApi, caught_up, running_api, running_worker

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
ASSETS = ROOT / "hub" / "api" / "static" / "vendor" / ".built"


# Every URL each open page asked for, so a test can check that none left the hub.
REQUESTS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


@dataclass
class SeededHub:
    api: RunningApi
    now_ms: int
    records: dict[str, list[Any]]


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM} (scripts/system-tools.sh installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def built_assets() -> None:
    """Build the NHS.UK frontend and uPlot files if `make` has not (offline once installed)."""
    if not ASSETS.exists():
        subprocess.run([str(ROOT / "scripts" / "build-assets.sh")], check=True, timeout=300)


@pytest_asyncio.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_or_skip()
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(scope="module")
async def hub(
    broker: ManagedProcess, valkey: ManagedProcess, ref: ReferenceData, built_assets: None
) -> AsyncIterator[SeededHub]:
    """Serve a hub whose clock stands still a minute after a day of every feed was pushed."""
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=broker.address,
        redis_url=valkey.address,
        topic_prefix=f"b{tag}.",
        consumer_group=f"g{tag}",
        key_prefix=f"k{tag}",
        partitions=2,
        session_timeout_ms=6_000,
        admin_token="admin-" + uuid.uuid4().hex,
        envelope_key="test:" + uuid.uuid4().hex,
        config_dir=CONFIG,
    )
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    records = seed.records(ref, now)
    async with (
        running_api(settings, clock_ms=lambda: now + 60_000) as api,
        running_worker(settings),
    ):
        for feed, batch in records.items():
            await seed.push(api, feed, batch)

        await caught_up(settings)
        yield SeededHub(api, now + 60_000, records)


@pytest_asyncio.fixture
async def page(browser: Browser, hub: SeededHub) -> AsyncIterator[Page]:
    """Open a desk-sized page that records every request, so tests can check none left the hub."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-GB")
    new_page = await context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    blocked: list[str] = []
    new_page.on("request", lambda r: requests.append(r.url))
    new_page.on("pageerror", lambda e: errors.append(str(e)))
    # Chromium reports each thing the Content-Security-Policy blocked on the console.
    # (Tests wait with function predicates, "() => …": a bare expression string is eval()ed.)
    new_page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
    )
    REQUESTS[new_page] = requests
    yield new_page
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not blocked, f"the page broke its own Content-Security-Policy: {blocked}"
