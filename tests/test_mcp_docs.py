"""The MCP edge's docs and example: the names docs/mcp.md lists, its code blocks, and the example's run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import trio_toolpar.mcp

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "mcp.md").read_text(encoding="utf-8")


def test_the_exports_are_what_the_docs_list() -> None:
    names: list[str] = trio_toolpar.mcp.__all__
    assert names == sorted(names)
    block = DOC.split("<!-- exports:trio_toolpar.mcp -->")[1].split("<!-- /exports -->")[0]
    assert set(names) == set(re.findall(r"^- `([A-Za-z_]+)`", block, flags=re.MULTILINE))
    assert all(getattr(trio_toolpar.mcp, name) is not None for name in names)


@pytest.mark.parametrize("code", re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL))
def test_the_python_blocks_run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_the_example_calls_an_mcp_servers_tools_in_parallel_offline() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mcp_parallel.py")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        "registered notes_read_note    read  (read-only hint: True)",
        "registered notes_delete_note  write (read-only hint: False)",
    ]
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert "ok" in rows["c1"]
    assert "ship the MCP edge" in rows["c1"]
    assert "McpToolError: Error executing tool read_note: no note called 'missing'" in rows["c3"]
    assert "deleted old" in rows["c4"]
    read_end = max(float(rows[c].split()[3].split("-")[1]) for c in ("c1", "c2"))
    delete_start = float(rows["c4"].split()[3].split("-")[0])
    assert delete_start >= read_end  # the delete waited for the reads
    assert lines[-1] == "3 of 4 tool calls succeeded."
