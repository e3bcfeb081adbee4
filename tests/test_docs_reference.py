"""The API reference as mkdocstrings renders it: pages, order, docstrings and their examples.

The docstrings are read the way the site reads them: griffe, with the
``griffe_fieldz`` extension and the Google parser of ``mkdocs.yml``, walking
each public module's ``__all__`` and the public members of its classes.

The rules for a docstring of the public API:

* No builtin's docstring in place of ours (``dict()``'s, say, shown for a field
  built with ``attrs.field(factory=dict)``).
* No reST literal block (``Example::``): an example is a fenced
  ```` ```python ```` block (under ``Examples:`` in a function or class), which
  the site highlights. Such an example is a fragment (it uses an ``executor``
  it does not build): it must compile, with top-level ``await`` allowed, and
  fit in 100 columns.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import enum
import functools
import importlib
import inspect
import logging
import pkgutil
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import attrs
import griffe
import pytest
from test_docs import MAX_COLUMNS, ROOT, public_modules

import trio_toolpar

# -- reading the API as the site does --------------------------------------------------------


def _load(package: str, search_path: Path) -> griffe.Object | griffe.Alias:
    logging.getLogger("griffe").setLevel(logging.ERROR)  # its notes on attrs' generated __init__
    return griffe.load(
        package,
        search_paths=[search_path],
        extensions=griffe.load_extensions("griffe_fieldz"),
        docstring_parser="google",
        docstring_options={"warn_unknown_params": False, "warn_missing_types": False},
    )


@attrs.frozen
class Documented:
    """One object the reference shows: its dotted path and its griffe object."""

    path: str
    obj: griffe.Object


def _walk(obj: griffe.Object | griffe.Alias, path: str, seen: set[int]) -> Iterator[Documented]:
    target = obj.final_target if isinstance(obj, griffe.Alias) else obj
    if id(target) in seen:
        return
    seen.add(id(target))
    yield Documented(path, target)
    if target.is_class:
        for name, member in target.members.items():
            if member.is_public:  # mkdocs.yml's `filters: public`
                yield from _walk(member, f"{path}.{name}", seen)


def documented_objects(package: str, modules: list[str], search_path: Path) -> list[Documented]:
    """Each module (its docstring), each name of its ``__all__``, and their public members."""
    root = _load(package, search_path)
    found: list[Documented] = []
    for name in modules:
        module = root if name == package else root[name.removeprefix(package + ".")]
        found.append(Documented(name, module.final_target if isinstance(module, griffe.Alias) else module))
        seen: set[int] = set()
        for attr in importlib.import_module(name).__all__:
            found += _walk(module[attr], f"{name}.{attr}", seen)
    return found


@functools.cache
def api() -> list[Documented]:
    return documented_objects("trio_toolpar", public_modules(), ROOT)


def texts(obj: griffe.Object) -> Iterator[str]:
    """Every piece of text the site shows for ``obj``: its docstring, and each entry of its sections."""
    if obj.docstring is None:
        return
    yield obj.docstring.value
    for section in obj.docstring.parsed:
        if isinstance(section.value, str):
            yield section.value
        elif isinstance(section.value, list):
            for item in section.value:
                description = getattr(item, "description", None)
                if isinstance(description, str):
                    yield description
                elif isinstance(item, tuple):  # an Examples section: (kind, text)
                    yield item[1]


def _normal(text: str) -> str:
    return " ".join(text.split())


@functools.cache
def builtin_docstrings() -> frozenset[str]:
    """The docstrings of builtins, of the ABCs and of enum, and of all their methods, whitespace folded."""
    found: set[str] = set()
    for module in (builtins, collections.abc, enum):
        for value in vars(module).values():
            for obj in [value, *(vars(value).values() if inspect.isclass(value) else [])]:
                doc = getattr(obj, "__doc__", None)
                if isinstance(doc, str) and doc.strip():
                    found.add(_normal(inspect.cleandoc(doc)))
    return frozenset(found)


def leaked(docs: list[Documented]) -> dict[str, str]:
    """Where a text shown is a builtin's docstring (whole, or its first line when that is long)."""
    builtin = builtin_docstrings()
    first_lines = {doc.split(". ")[0] for doc in builtin if len(doc.split(". ")[0]) >= 25}
    found = {}
    for doc in docs:
        for text in texts(doc.obj):
            normal = _normal(text)
            if normal in builtin or any(normal.startswith(line) for line in first_lines):
                found[doc.path] = normal[:60]
    return found


# -- docstrings --------------------------------------------------------------------------------


def test_the_walk_sees_the_api() -> None:
    paths = {doc.path for doc in api()}
    # A broken walk must not pass the checks below by finding nothing.
    assert len(paths) > 400
    assert {"trio_toolpar.Executor.run", "trio_toolpar.compose.Pipeline.races", "trio_toolpar.redis"} <= paths
    assert sum(1 for doc in api() for _ in texts(doc.obj)) > 1000


def test_no_docstring_is_a_builtins() -> None:
    assert leaked(api()) == {}


def test_a_builtins_docstring_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What Pipeline.races once showed: griffe_fieldz takes a field's factory's docstring, here dict's."""
    package = tmp_path / "leaky"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent('''
            """A package."""
            import attrs
            __all__ = ["Holder"]

            @attrs.frozen
            class Holder:
                """Holds things."""

                things: dict[str, int] = attrs.field(factory=dict)
                """The things, by name."""
        '''),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert leaked(documented_objects("leaky", ["leaky"], tmp_path)) == {
            "leaky.Holder": "dict() -> new empty dictionary dict(mapping) -> new dictiona"
        }
    finally:
        sys.modules.pop("leaky", None)


def _private_class_names() -> set[str]:
    """Classes of trio_toolpar's modules that no public module exports."""
    exported = {name for module in public_modules() for name in importlib.import_module(module).__all__}
    found = set()
    for info in pkgutil.walk_packages(trio_toolpar.__path__, "trio_toolpar."):
        for name, value in vars(importlib.import_module(info.name)).items():
            if inspect.isclass(value) and value.__module__.startswith("trio_toolpar") and name == value.__name__:
                found.add(name)
    return {name for name in found - exported if not name.startswith("_")}


def test_no_docstring_points_at_a_private_name() -> None:
    """A reader cannot look up ``trio_toolpar._wire...`` or a class no module exports."""
    private = _private_class_names()
    assert {"IncrementalPlanner", "CallRun"} <= private  # the check sees the private classes
    named = set()
    for doc in api():
        for text in texts(doc.obj):
            named |= {f"{doc.path}: {path}" for path in re.findall(r"trio_toolpar(?:\.\w+)*\._\w+", text)}
            for name in re.findall(r"(?<!`)`([A-Za-z]\w*)[\w.]*`(?!`)", text):
                if name in private:
                    named.add(f"{doc.path}: {name}")
    assert named == set()


_LITERAL_MARKER = re.compile(r"::\s*$", re.MULTILINE)


def test_no_docstring_has_a_rest_literal_block() -> None:
    marked = [doc.path for doc in api() if doc.obj.docstring and _LITERAL_MARKER.search(doc.obj.docstring.value)]
    assert marked == []


_DOCSTRING_FENCE = re.compile(
    r"^(?P<indent> *)```(?P<info>\w*)\n(?P<code>.*?)^(?P=indent)```$", flags=re.MULTILINE | re.DOTALL
)


def docstring_examples() -> list[tuple[str, str, str]]:
    """(path, info string, dedented code) of each fenced block in a public docstring."""
    found = []
    for doc in api():
        if doc.obj.docstring is not None:
            for fence in _DOCSTRING_FENCE.finditer(doc.obj.docstring.value):
                found.append((doc.path, fence["info"], textwrap.dedent(fence["code"])))
    return found


def test_docstring_examples_are_python_that_compiles_and_fits() -> None:
    examples = docstring_examples()
    assert len(examples) >= 15  # the modules' and the stream classes' examples, at least
    for path, info, code in examples:
        assert info == "python", f"{path}: an example fenced as {info!r}: the site would not highlight it"
        # A fragment: top-level await and names it does not define are fine; a syntax error is not.
        compile(code, path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        wide = [line for line in code.splitlines() if len(line) > MAX_COLUMNS]
        assert wide == [], f"{path}: lines over {MAX_COLUMNS} columns"


# -- the reference pages -----------------------------------------------------------------------


@attrs.frozen
class Page:
    """A reference page: the module whose docstring opens it, and its names under each heading."""

    path: Path
    module: str
    sections: list[tuple[str, list[str]]]

    @property
    def names(self) -> list[str]:
        return [name for _, names in self.sections for name in names]


def reference_pages() -> list[Page]:
    pages = []
    for path in sorted((ROOT / "docs" / "reference").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        directives = re.findall(r"^::: ([\w.]+)$", text, flags=re.MULTILINE)
        assert directives, f"{path.name}: no ::: directive"
        module = directives[0]
        sections: list[tuple[str, list[str]]] = []
        for line in text.splitlines():
            if line.startswith("## "):
                sections.append((line[3:].strip(), []))
            elif line.startswith("::: ") and line != f"::: {module}":
                assert line.startswith(f"::: {module}."), f"{path.name}: {line} is not of {module}"
                assert sections, f"{path.name}: {line} before the first heading"
                sections[-1][1].append(line.removeprefix(f"::: {module}."))
        pages.append(Page(path=path, module=module, sections=sections))
    return pages


def test_every_public_module_has_a_reference_page_in_the_nav() -> None:
    pages = reference_pages()
    assert sorted(page.module for page in pages) == public_modules()
    nav = set(re.findall(r"^\s*(?:- )?[^:#]+: (\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), flags=re.MULTILINE))
    missing = {page.path.relative_to(ROOT / "docs").as_posix() for page in pages} - nav
    assert not missing, f"reference pages not in mkdocs.yml's nav: {sorted(missing)}"


@pytest.mark.parametrize("page", reference_pages(), ids=lambda page: page.path.name)
def test_a_reference_page_lists_every_public_name_once(page: Page) -> None:
    names = page.names
    assert sorted(names) == sorted(importlib.import_module(page.module).__all__)
    assert len(set(names)) == len(names)


def _is_exception(module: str, name: str) -> bool:
    obj = getattr(importlib.import_module(module), name)
    return inspect.isclass(obj) and issubclass(obj, BaseException)


@pytest.mark.parametrize("page", reference_pages(), ids=lambda page: page.path.name)
def test_errors_come_last_under_their_own_heading(page: Page) -> None:
    for heading, names in page.sections:
        exceptions = [name for name in names if _is_exception(page.module, name)]
        if heading == "Errors":
            assert exceptions == names, f"{page.path.name}: not exceptions under Errors"
            assert (heading, names) == page.sections[-1], f"{page.path.name}: Errors is not the last section"
        else:
            assert exceptions == [], f"{page.path.name}: exceptions under {heading!r}"


def test_the_core_page_starts_with_what_you_build() -> None:
    """What you construct first, then what you read, then the errors."""
    (core,) = [page for page in reference_pages() if page.module == "trio_toolpar"]
    section_of = {name: i for i, (_, names) in enumerate(core.sections) for name in names}
    assert core.sections[0] == ("Build and run", ["Executor", "Registry", "Tool", "ToolCall", "Turn", "OutcomeStream"])
    built = ["Executor", "Registry", "Tool", "ToolCall", "BestEffort", "FailFast", "Retry", "Rate", "RaceRules"]
    read = ["TurnResult", "Outcome", "Status", "ErrorCode"]
    assert max(section_of[name] for name in built) < min(section_of[name] for name in read)
    assert max(section_of[name] for name in read) < section_of["ToolparError"]


def test_the_overview_links_every_reference_page() -> None:
    overview = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for page in reference_pages():
        link = f"[`{page.module}`](reference/{page.path.name})"
        assert link in overview, f"docs/api.md does not link {page.module}'s page"
