"""The README's map of the tree ("How it fits together") matches what `ls` shows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"__init__.py", "__main__.py", "__pycache__", "static", "defaults"}
MAPPED_DIRS = ["hub", "streams", "hub/adapters", "hub/adapters/kafka", "hub/adapters/redis"]


def tree_map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it fits together", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, re.S)
    (mapped,) = [b for b in blocks if b.lstrip().startswith("streams/")]
    return mapped


def test_every_module_and_package_of_the_layers_is_on_the_map() -> None:
    mapped = set(re.findall(r"[\w.]+", tree_map()))
    missing = [
        f"{d}/{child.name}"
        for d in MAPPED_DIRS
        for child in sorted((ROOT / d).iterdir())
        if child.name not in SKIP
        and (child.suffix == ".py" or child.is_dir())
        and child.name not in mapped
        and f"{child.name}/" not in tree_map()
    ]
    assert missing == []


def test_every_file_the_map_names_exists() -> None:
    named = set(re.findall(r"\b(\w+\.py)\b", tree_map()))
    everywhere = {p.name for p in (ROOT / "hub").rglob("*.py")} | {
        p.name for p in (ROOT / "streams").rglob("*.py")
    }
    assert named and named - everywhere == set()
