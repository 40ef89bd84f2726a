"""The import-linter contracts cover every module, so no new module escapes the layering."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]["contracts"]


def modules(package: str) -> list[str]:
    """Return the dotted name of every module under a root package (its __init__ excluded)."""
    base = ROOT / package
    out = []
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1:
            out.append(".".join(parts))
    return out


def layer_names() -> list[str]:
    (layers,) = [c["layers"] for c in CONTRACTS if c["type"] == "layers"]
    return [name.strip() for layer in layers for name in layer.replace(":", "|").split("|")]


def test_every_module_of_hub_and_streams_sits_in_a_layer() -> None:
    layers = layer_names()
    everything = modules("hub") + modules("streams")
    assert len(everything) >= 90  # the walk found the tree
    outside = [m for m in everything if not any(m == n or m.startswith(n + ".") for n in layers)]
    assert outside == []


def test_every_layer_names_a_module_that_exists() -> None:
    everything = set(modules("hub") + modules("streams"))
    assert [name for name in layer_names() if name not in everything] == []


def test_the_stream_processors_hot_path_is_held_to_ports() -> None:
    held = {
        tuple(c["source_modules"])
        for c in CONTRACTS
        if c["type"] == "forbidden" and "hub.adapters" in c["forbidden_modules"]
    }
    assert ("streams.loop", "streams.apply", "streams.outbox", "streams.letters") in held
