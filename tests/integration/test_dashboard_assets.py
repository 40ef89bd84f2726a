"""A hub installed without the dashboard's front-end files says so, plainly, instead of hanging."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from hub.api.app import REQUIRED_ASSETS, STATIC, missing_assets
from hub.settings import Settings
from tests.harness import running_api


def test_the_source_tree_has_every_file_the_dashboard_needs() -> None:
    # `make test` builds them first (make assets); a missing one would fail every browser test.
    assert missing_assets() == []


def test_an_empty_static_directory_lacks_every_required_file(tmp_path: Path) -> None:
    assert missing_assets(tmp_path) == list(REQUIRED_ASSETS)


async def test_the_dashboard_page_says_run_make_assets_and_the_api_still_answers(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    shutil.copy(STATIC / "index.html", static / "index.html")
    with caplog.at_level(logging.ERROR, logger="hub.api.app"):
        async with running_api(settings, static=static) as api, api.client() as client:
            page = await client.get("/region/Y56")
            organisations = await client.get("/v1/organisations")
    assert page.status_code == 503
    assert "Dashboard assets missing: run make assets" in page.text
    assert organisations.status_code == 200
    assert any("dashboard assets missing" in r.getMessage() for r in caplog.records)
