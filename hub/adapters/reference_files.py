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
        sites.extend(
            Site(s["code"], s["name"], o["code"], s.get("majors_resus_spaces"))
            for s in o.get("sites", ())
        )
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


CATEGORIES = ("C1", "C2", "C3", "C4")


def load_response_standards(config_dir: Path) -> dict[str, int]:
    """Return the line (ms) of each `ambulance.cN.over_target_now` gauge.

    From `[response_standards_minutes]` in `config/thresholds.toml`: each category's
    90th-centile response standard (DOMAIN §1), which all four must have.
    """
    path, doc = _read_thresholds_file(config_dir)
    table = doc.get("response_standards_minutes")
    if not isinstance(table, dict) or set(table) != set(CATEGORIES):
        raise ConfigError(
            f"{path}: [response_standards_minutes] must give each of {', '.join(CATEGORIES)}"
        )
    out = {}
    for category, minutes in table.items():
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise ConfigError(f"{path}: response_standards_minutes.{category} is not a number")
        if not 0 < minutes < 24 * 60:
            raise ConfigError(
                f"{path}: response_standards_minutes.{category} must be above 0 and under "
                "24 hours (the gauges look back 24 hours)"
            )
        out[f"ambulance.{category.lower()}.over_target_now"] = round(minutes * 60_000)
    return out


def load_scoped_thresholds(config_dir: Path, share_bases: set[str]) -> ScopedThresholds:
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
            levels.setdefault(metric, {})[level] = _rule(path, where, own, entry, share_bases)
    return ScopedThresholds(base, levels)


def _rule(
    path: Path, where: str, own: dict[str, Any], base: dict[str, Any], share_bases: set[str]
) -> LevelRule:
    of, per = own.get("of"), own.get("per")
    if of is not None and per is not None:
        raise ConfigError(f"{path}: {where}: give 'of' or 'per', not both")
    if of is not None and of not in share_bases:
        raise ConfigError(f"{path}: {where}: 'of' must name a window metric or a gauge, not {of!r}")
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
