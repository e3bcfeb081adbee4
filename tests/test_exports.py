"""The public namespace is exactly what docs/api.md promises."""

from __future__ import annotations

import re
from pathlib import Path

import trio_toolpar
import trio_toolpar.testing


def documented(section: str) -> set[str]:
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    block = text.split(f"<!-- exports:{section} -->")[1].split("<!-- /exports -->")[0]
    return set(re.findall(r"^- `([A-Za-z_]+)`", block, flags=re.MULTILINE))


def test_core_exports() -> None:
    assert trio_toolpar.__all__ == sorted(trio_toolpar.__all__, key=str)
    assert set(trio_toolpar.__all__) == documented("trio_toolpar")
    for name in trio_toolpar.__all__:
        assert getattr(trio_toolpar, name) is not None


def test_testing_exports() -> None:
    assert set(trio_toolpar.testing.__all__) == documented("trio_toolpar.testing")


def test_importing_the_core_imports_no_edge() -> None:
    import subprocess
    import sys

    edges = ("httpx", "hypothesis", "openai", "anthropic", "opentelemetry", "prometheus_client")
    code = f"import sys, trio_toolpar; print(sorted(m for m in {edges!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
