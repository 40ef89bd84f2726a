"""Every setting the hub reads has a row in the README's settings table, and no row is stale."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from hub.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def settings_table() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("Settings come from `HUB_*` environment variables", 1)[1].split("\n## ", 1)[0]


def test_every_setting_has_a_row() -> None:
    table = settings_table()
    missing = [
        f"HUB_{f.name.upper()}" for f in fields(Settings) if f"`HUB_{f.name.upper()}`" not in table
    ]
    assert missing == []


def test_every_row_is_a_real_setting() -> None:
    real = {f"HUB_{f.name.upper()}" for f in fields(Settings)}
    named = set(re.findall(r"^\| (.+?) \|", settings_table(), re.MULTILINE))
    rows = {name for cell in named for name in re.findall(r"`(HUB_[A-Z0-9_]+)`", cell)}
    assert rows and rows - real == set()
