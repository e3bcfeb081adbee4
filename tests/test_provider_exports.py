"""The provider edges' names are what docs/providers.md lists, and the example runs offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import trio_toolpar.agent
import trio_toolpar.anthropic
import trio_toolpar.openai

ROOT = Path(__file__).parent.parent


def documented(section: str) -> set[str]:
    text = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    block = text.split(f"<!-- exports:{section} -->")[1].split("<!-- /exports -->")[0]
    return set(re.findall(r"^- `([A-Za-z_]+)`", block, flags=re.MULTILINE))


@pytest.mark.parametrize("module", [trio_toolpar.openai, trio_toolpar.anthropic, trio_toolpar.agent])
def test_edge_exports(module: types.ModuleType) -> None:
    names: list[str] = module.__all__
    assert names == sorted(names, key=str)
    assert set(names) == documented(module.__name__)
    for name in names:
        assert getattr(module, name) is not None


def test_the_agent_example_runs_offline() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPAR_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "agent_loop.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("model: scripted")
    assert "answer (answered" in out
    assert "call_metrics service_metrics" in out
    assert "rolling back v412" in out


def test_every_python_block_in_the_providers_page_runs() -> None:
    text = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert blocks
    for n, block in enumerate(blocks):
        exec(compile(block, f"docs/providers.md[{n}]", "exec"), {"__name__": "docs"})
