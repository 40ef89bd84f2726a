"""Read `config/opel.toml`: the computed-OPEL framework."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hub.domain.errors import ConfigError
from hub.domain.metrics import CATALOGUE, Kind
from hub.domain.opel import OpelConfig
from hub.domain.opel_config import parse_config
from hub.domain.opel_inputs import DERIVED


def load_opel(config_dir: Path) -> OpelConfig:
    """Return the OPEL framework; raise ConfigError saying what is wrong."""
    path = config_dir / "opel.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    windows = {m.id for m in CATALOGUE.values() if m.kind is Kind.WINDOW}
    return parse_config(doc, set(CATALOGUE) | DERIVED, windows)
