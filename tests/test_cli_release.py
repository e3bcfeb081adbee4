"""What ``trio-toolpar --version`` says, against what the CHANGELOG says has changed since the last release."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.version import Version

import trio_toolpar

ROOT = Path(__file__).parent.parent
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def unreleased() -> str:
    return CHANGELOG.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]


def test_the_version_is_past_the_last_release() -> None:
    released = [Version(v) for v in re.findall(r"^## \[(\d+\.\d+\.\d+)\]", CHANGELOG, flags=re.MULTILINE)]
    assert released, "the CHANGELOG lists no release"
    version = Version(trio_toolpar.__version__)
    # The checkout holds changes the last release does not have: it must not claim to be that release.
    assert version > max(released)
    assert version.is_prerelease  # not released yet
    if "(breaking)" in unreleased() and max(released).major == 0:
        assert version.release[:2] > max(released).release[:2]  # 0.x: a breaking change takes a new minor
    assert f"`{trio_toolpar.__version__}`" in unreleased()  # the CHANGELOG names the version under way


def test_the_version_is_written_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    source = project["tool"]["hatch"]["version"]["path"]
    assert re.search(r'^__version__ = "[^"]+"$', (ROOT / source).read_text(encoding="utf-8"), flags=re.MULTILINE)
