"""Build hooks, so a wheel or sdist built from this repository installs whole.

Everything else about the package is in pyproject.toml. These hooks make the
wheel carry what `hub` needs at run time beside its code:

- the dashboard's front-end assets (NHS.UK frontend, uPlot), built from
  web/package-lock.json by scripts/build-assets.sh when they are missing;
- the default reference data and thresholds (config/), as `hub/defaults/`,
  used when no config directory is given or found.

An sdist carries the built assets too, so a wheel built from it needs no npm.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
VENDOR = ROOT / "hub" / "api" / "static" / "vendor"
CONFIG = ROOT / "config"


def ensure_assets() -> None:
    """Build the dashboard's assets unless they are there already."""
    if (VENDOR / ".built").exists():
        return
    script = ROOT / "scripts" / "build-assets.sh"
    if not script.exists():
        raise SystemExit(f"dashboard assets missing in {VENDOR} and no {script} to build them")
    subprocess.run([str(script)], check=True, cwd=ROOT)


class BuildPy(build_py):
    """Build the assets first; put the default config in the wheel as hub/defaults/."""

    def run(self) -> None:
        if not self.editable_mode:  # an editable install serves the source tree's files
            ensure_assets()
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib) / "hub" / "defaults"
            target.mkdir(parents=True, exist_ok=True)
            for path in CONFIG.iterdir():
                if path.suffix in {".toml", ".md"}:
                    shutil.copy2(path, target / path.name)


class Sdist(sdist):
    def run(self) -> None:
        ensure_assets()
        super().run()


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
