"""Every example of README.md and docs/ runs as written, and the API reference covers every public module.

The rule for examples (docs/index.md says it to contributors too):

* A block fenced as ```` ```python ```` is a **complete program**. It is run
  alone, in a fresh namespace with ``__name__ == "__main__"``, exactly as
  ``python block.py`` would run it: it imports what it uses and calls
  ``trio.run(main)`` itself. Its ``assert``s are part of the test.
* A block that is only a fragment (an excerpt, a pytest test, a shell
  command, a diagram) uses a fence **with no language** (```` ``` ````) or
  another language (```` ```sh ````, ```` ```json ````); it is shown, never run.

Examples that wait on time run on ``trio.testing.MockClock(autojump_threshold=0)``
so that this test stays fast. Each block is one test, with the id ``file:line``
of its opening fence; a traceback's line numbers are the file's own.
"""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import attrs
import pytest

import trio_toolpar

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@attrs.frozen(kw_only=True)
class Block:
    """One fenced code block: where it opens, its info string, and its text."""

    path: Path
    line: int
    info: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file, in order (fences may be indented, as in lists)."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][indent:])
            j += 1
        if j == len(lines):
            raise AssertionError(f"{path.relative_to(ROOT)}:{i + 1}: code fence never closed")
        found.append(Block(path=path, line=i + 1, info=opening["info"].strip(), code="\n".join(body) + "\n"))
        i = j + 1
    return found


PROGRAMS = [block for page in PAGES for block in blocks(page) if block.info == "python"]


def test_the_pages_have_programs_to_run() -> None:
    # A broken fence parser would "pass" every page by finding nothing in it.
    pages = {block.path.name for block in PROGRAMS}
    assert {"README.md", "index.md", "tutorial.md", "caps.md", "conflicts.md", "references.md"} <= pages


@pytest.mark.parametrize("block", PROGRAMS, ids=[block.id for block in PROGRAMS])
def test_example_runs(block: Block) -> None:
    # Padding with blank lines makes the traceback's line numbers the Markdown file's.
    source = "\n" * block.line + block.code
    code = compile(source, str(block.path.relative_to(ROOT)), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(block.path)})


MAX_COLUMNS = 100
"""The widest line of a code block: what the site shows at 1280 px without scrolling."""


def test_code_blocks_fit_in_100_columns() -> None:
    wide = [
        f"{block.id} (line {block.line + 1 + i}: {len(line)} columns)"
        for page in PAGES
        for block in blocks(page)
        for i, line in enumerate(block.code.splitlines())
        if len(line) > MAX_COLUMNS
    ]
    assert wide == []


def test_fragments_are_not_labelled_python() -> None:
    # "```python fragment" and the like would not render on the site: a fragment has no language.
    odd = [b.id for page in PAGES for b in blocks(page) if b.info.startswith("python") and b.info != "python"]
    assert odd == []


# -- the API reference (tests/test_docs_reference.py) ---------------------------------------


def public_modules() -> list[str]:
    """trio_toolpar and each of its public submodules (names without a leading underscore)."""
    subs = [m.name for m in pkgutil.iter_modules(trio_toolpar.__path__) if not m.name.startswith("_")]
    return ["trio_toolpar", *(f"trio_toolpar.{name}" for name in sorted(subs))]
