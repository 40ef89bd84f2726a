"""The tests SECURITY.md and docs/RELIABILITY.md cite as evidence exist, down to the test name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["SECURITY.md", "docs/RELIABILITY.md"]
CITED = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+)(…)?)?")


@pytest.mark.parametrize("doc", DOCS)
def test_every_cited_test_exists(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    cited = CITED.findall(text)
    missing = []
    for path, name, cut in cited:
        source = ROOT / path
        if not source.is_file():
            missing.append(path)
        elif name and not re.search(f"def {name}" + ("" if cut else r"\b"), source.read_text()):
            missing.append(f"{path}::{name}")
    assert cited and missing == []
