"""Examples and doc snippets run as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_testing_guide_quotes_its_example_verbatim() -> None:
    example = (ROOT / "examples" / "property_test.py").read_text(encoding="utf-8")
    body = example.split('"""\n\n', 1)[1]
    assert body in (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


def test_the_property_example_passes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "examples" / "property_test.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
