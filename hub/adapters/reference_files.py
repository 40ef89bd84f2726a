"""Load the reference data of SPEC §1 from `config/organisations.toml`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hub.domain.errors import ConfigError
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.rag import Threshold
from hub.domain.triage import LEVELS, PER_UNITS, LevelRule, ScopedThresholds
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


def _read_thresholds_file(config_dir: Path) -> tuple[Path, dict[str, Any]]:
    path = config_dir / "thresholds.toml"
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def load_thresholds(config_dir: Path, metric_ids: set[str]) -> dict[str, Threshold]:
    """Read RAG thresholds and SPC targets from `config/thresholds.toml`."""
    path, doc = _read_thresholds_file(config_dir)
    out: dict[str, Threshold] = {}
    for metric, entry in doc.get("metrics", {}).items():
        if metric not in metric_ids:
            raise ConfigError(f"{path}: {metric!r} is not a metric in the catalogue")
        out[metric] = _threshold(path, metric, entry, {})
    return out


def load_scoped_thresholds(config_dir: Path, window_metrics: set[str]) -> ScopedThresholds:
    """Read the base lines and each scope level's own rule (`[metrics."m".levels.<level>]`)."""
    path, doc = _read_thresholds_file(config_dir)
    base: dict[str, Threshold] = {}
    levels: dict[str, dict[str, LevelRule]] = {}
    for metric, entry in doc.get("metrics", {}).items():
        base[metric] = _threshold(path, metric, entry, {})
        for level, own in entry.get("levels", {}).items():
            where = f"{metric} (levels.{level})"
            if level not in LEVELS:
                raise ConfigError(f"{path}: {where}: the level must be one of {list(LEVELS)}")
            levels.setdefault(metric, {})[level] = _rule(path, where, own, entry, window_metrics)
    return ScopedThresholds(base, levels)


def _rule(
    path: Path, where: str, own: dict[str, Any], base: dict[str, Any], window_metrics: set[str]
) -> LevelRule:
    of, per = own.get("of"), own.get("per")
    if of is not None and per is not None:
        raise ConfigError(f"{path}: {where}: give 'of' or 'per', not both")
    if of is not None and of not in window_metrics:
        raise ConfigError(f"{path}: {where}: 'of' must name a window metric, not {of!r}")
    if per is not None and per not in PER_UNITS:
        raise ConfigError(f"{path}: {where}: 'per' must be one of {list(PER_UNITS)}")
    threshold = _threshold(path, where.split(" ")[0], own, base)
    return LevelRule(threshold, of, per)


def _threshold(
    path: Path, metric: str, entry: dict[str, Any], inherited: dict[str, Any]
) -> Threshold:
    """Return one set of lines; a level's rule inherits only `better` and `window`."""
    merged = {k: v for k, v in inherited.items() if k in ("better", "window")} | entry
    window = merged.get("window", "4h")
    if window not in WINDOWS:
        raise ConfigError(f"{path}: {metric}: window must be one of {list(WINDOWS)}")
    try:
        return Threshold(
            metric=metric,
            better=merged["better"],
            green=float(merged["green"]),
            red=None if "red" not in merged else float(merged["red"]),
            window=window,
            target=None if "target" not in merged else float(merged["target"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {metric}: {exc!r}") from exc
