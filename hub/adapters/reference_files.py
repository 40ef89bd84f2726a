"""Load the reference data of SPEC §1 from `config/organisations.toml`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hub.domain.errors import ConfigError
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.rag import Threshold
from hub.domain.windows import WINDOWS


def load_reference_data(config_dir: Path) -> ReferenceData:
    """Read regions, organisations and sites, refusing anything inconsistent."""
    path = config_dir / "organisations.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        return _parse(doc)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: missing or malformed entry ({exc!r})") from exc


def _parse(doc: dict[str, Any]) -> ReferenceData:
    regions = [Region(r["code"], r["name"]) for r in doc["regions"]]
    orgs: list[Organisation] = []
    sites: list[Site] = []
    for o in doc["organisations"]:
        orgs.append(
            Organisation(
                code=o["code"],
                name=o["name"],
                region=o["region"],
                roles=tuple(o["roles"]),
                short_name=o.get("short_name", ""),
            )
        )
        sites.extend(Site(s["code"], s["name"], o["code"]) for s in o.get("sites", ()))
    return ReferenceData.build(regions, orgs, sites)


def load_thresholds(config_dir: Path, metric_ids: set[str]) -> dict[str, Threshold]:
    """Read RAG thresholds and SPC targets from `config/thresholds.toml`."""
    path = config_dir / "thresholds.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    out: dict[str, Threshold] = {}
    for metric, entry in doc.get("metrics", {}).items():
        if metric not in metric_ids:
            raise ConfigError(f"{path}: {metric!r} is not a metric in the catalogue")
        window = entry.get("window", "4h")
        if window not in WINDOWS:
            raise ConfigError(f"{path}: {metric}: window must be one of {list(WINDOWS)}")
        try:
            out[metric] = Threshold(
                metric=metric,
                better=entry["better"],
                green=float(entry["green"]),
                red=None if "red" not in entry else float(entry["red"]),
                window=window,
                target=None if "target" not in entry else float(entry["target"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: {metric}: {exc!r}") from exc
    return out
