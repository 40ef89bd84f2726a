"""The dependency locks: complete, hashed, in step with pyproject.toml, and what installs use."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCKS = {name: ROOT / "requirements" / f"{name}.txt" for name in ("run", "dev", "bench")}


def pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """Return each locked package's version and how many file hashes the lock allows for it."""
    text = lock.read_text(encoding="utf-8").replace("\\\n", " ")
    out: dict[str, tuple[Version, int]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
        assert match, f"{lock.name}: not an exact pin: {line[:80]}"
        out[canonicalize_name(match[1])] = (Version(match[2]), line.count("--hash=sha256:"))
    return out


def declared(extra: str | None = None) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(r) for r in listed]


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_locked_package_is_an_exact_version_with_hashes(name: str) -> None:
    locked = pins(LOCKS[name])
    assert locked, f"{name}.txt is empty"
    assert all(hashes > 0 for _, hashes in locked.values())


@pytest.mark.parametrize(
    ("name", "extra"),
    [("run", None), ("dev", None), ("dev", "dev"), ("bench", "dev"), ("bench", "bench")],
)
def test_each_lock_satisfies_the_ranges_in_pyproject(name: str, extra: str | None) -> None:
    locked = pins(LOCKS[name])
    for req in declared(extra):
        if req.marker is not None and not req.marker.evaluate({"python_version": "3.11"}):
            continue
        version, _ = locked[canonicalize_name(req.name)]
        assert req.specifier.contains(version, prereleases=True), f"{req} but {version} locked"


def test_the_package_declares_ranges_not_pins() -> None:
    # A library that pins forces its versions on every project that installs it.
    for req in declared() + declared("dev"):
        assert not any(spec.operator in {"==", "==="} for spec in req.specifier), str(req)


@pytest.mark.parametrize(("base", "wider"), [("run", "dev"), ("dev", "bench")])
def test_tests_and_benchmarks_run_the_versions_that_production_runs(base: str, wider: str) -> None:
    narrow, wide = pins(LOCKS[base]), pins(LOCKS[wider])
    differing = {
        p: (narrow[p][0], wide[p][0]) for p in narrow if narrow[p][0] != wide.get(p, narrow[p])[0]
    }
    assert narrow.keys() <= wide.keys() and not differing


def test_the_benchmark_peer_is_never_a_runtime_dependency() -> None:
    assert "quixstreams" not in pins(LOCKS["run"]) and "quixstreams" not in pins(LOCKS["dev"])


def test_make_and_the_image_install_from_the_locks_and_check_the_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r requirements/run.txt" in makefile
    assert "pip install --quiet --require-hashes -r requirements/dev.txt" in makefile
    assert "pip install --require-hashes -r requirements/run.txt" in dockerfile
    # Installing the hub itself must not pull anything past the lock.
    installs = re.findall(r"pip install [^\n]*(?:-e )?\.\s", makefile + dockerfile)
    assert installs and all("--no-deps" in line for line in installs)
