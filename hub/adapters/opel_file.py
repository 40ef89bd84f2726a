"""Read `config/opel.toml`: the computed-OPEL framework and the majors/resus capacity."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hub.domain.errors import ConfigError
from hub.domain.metrics import CATALOGUE
from hub.domain.opel import OpelConfig, parse_config
from hub.domain.opel_inputs import DERIVED, Capacity, parse_capacity


def load_opel(config_dir: Path) -> tuple[OpelConfig, Capacity]:
    """Return the OPEL framework and capacity; raise ConfigError saying what is wrong."""
    path = config_dir / "opel.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        capacity = parse_capacity(doc)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: [capacity] is malformed: {exc}") from exc
    return parse_config(doc, set(CATALOGUE) | DERIVED), capacity
