"""The shape docs/architecture.md promises: layers in one order, small modules, a core that imports no edge."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "trio_toolpar"
LAYERS = (
    ("_values",),
    ("_arguments",),
    ("_tools",),
    ("_planning",),
    ("_journal",),
    ("_runtime",),
    ("_wire",),
    ("openai", "anthropic"),
    ("_agent",),
    ("agent",),
    ("", "abc", "compose", "events", "journal", "plan"),
    ("_cli", "__main__"),
)
"""The private layers, and the public modules that sit between them, lowest first.

A module imports only from its own layer and the layers below it. ``""`` is the public namespace
(``trio_toolpar/__init__.py``), beside the public modules it imports (``abc``, ``compose``, ``events``,
``journal``, ``plan``: re-exports only); only the command line uses them. The edges built on the namespace (``mcp``,
``redis``, ``otel``, ``prometheus``, ``testing``) are outside the order: no layer imports them.
"""
EDGES = ("agent", "anthropic", "mcp", "openai", "otel", "prometheus", "redis", "testing")
EDGE_HELPERS = ("__main__", "_agent", "_cli", "_wire")
MAX_LINES = 400  # a module past this has more than one job
MAX_FLAT = 0
"""Private modules lying flat in the package: none; each belongs to a layer."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """The trio_toolpar modules ``path`` imports, at any level (``TYPE_CHECKING`` blocks included).

    ``from X import name`` is an import of the module ``X.name`` where there is one, else of ``X``.
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("trio_toolpar"):
                for alias in node.names:
                    found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("trio_toolpar"))
    return found


def layer_of(name: str) -> int | None:
    """The position of module ``name``'s layer in `LAYERS`, or ``None`` outside the order."""
    top = name.split(".")[1] if "." in name else ""
    return next((i for i, tops in enumerate(LAYERS) if top in tops), None)


def test_each_layer_imports_only_its_own_and_the_layers_below() -> None:
    upward = []
    for name, targets in graph().items():
        own = layer_of(name)
        if own is None:
            continue
        for target in targets:
            other = layer_of(target)
            if other is None or other > own:
                upward.append(f"{name} -> {target}")
    assert not upward, upward


def test_every_private_module_belongs_to_a_layer() -> None:
    flat = [p.name for p in PACKAGE.glob("_*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(flat) <= MAX_FLAT, flat
    layers = {top for tops in LAYERS for top in tops}
    packages = {p.parent.name for p in PACKAGE.glob("_*/__init__.py")}
    assert packages <= layers, packages - layers


def test_the_layer_order_is_enforced_by_looking() -> None:
    """The check above can fail: the planner importing the runtime would be caught."""
    assert layer_of("trio_toolpar._planning._batch_planner") < layer_of("trio_toolpar._runtime._turn")  # type: ignore[operator]
    assert layer_of("trio_toolpar.mcp._call") is None
    assert "trio_toolpar._values._outcome" in imports_of(PACKAGE / "_runtime" / "_turn.py")


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_import_cycles() -> None:
    edges = graph()
    # A package's __init__ re-exports its modules: edges into a package from its own modules are not cycles.
    for name in edges:
        edges[name] = {m for m in edges[name] if not name.startswith(m + ".")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            assert state.get(nxt) != 1, " -> ".join([*path[path.index(nxt) :], nxt])
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def is_edge(name: str) -> bool:
    """Whether module ``name`` belongs to an edge (a public subpackage or module, or one of its helpers)."""
    top = name.split(".")[1] if "." in name else ""
    return top in EDGES or top.startswith(EDGE_HELPERS)


def test_the_core_imports_no_edge() -> None:
    for name, targets in graph().items():
        if name == "trio_toolpar" or is_edge(name):
            continue  # the namespace re-exports; edges may import the core and each other
        edge_imports = sorted(t for t in targets if is_edge(t))
        assert not edge_imports, f"the core module {name} imports the edge(s) {edge_imports}"


def test_no_module_is_over_about_four_hundred_lines() -> None:
    sizes = {module_name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    too_big = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not too_big, too_big


def test_no_private_name_is_reached_across_modules() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module is not None and node.level:
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_the_module_map_names_every_module() -> None:
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        # A layer's modules are described one by one (`_runtime/_turn.py`), a public subpackage as a
        # whole (`mcp/`); the namespace's and the layers' __init__ files hold no code.
        public_subpackage = len(rel.parts) > 1 and not rel.parts[0].startswith("_")
        name = f"{rel.parts[0]}/" if public_subpackage else rel.as_posix()
        if rel.name != "__init__.py" or public_subpackage:
            assert f"`{name}`" in text, f"docs/architecture.md does not describe {name}"


def test_the_module_maps_line_counts_are_current() -> None:
    """Each count in the map is within a fifth of the module's (or subpackage's) lines today."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `((?:_\w+/)?[\w.]+\.py|\w+/)` \| (\d+) \|", text, flags=re.MULTILINE)
    assert len(rows) > 40  # the map's rows are where this test looks
    stale = {}
    for name, listed in rows:
        path = PACKAGE / name
        files = list(path.rglob("*.py")) if name.endswith("/") else [path]
        lines = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files)
        if abs(lines - int(listed)) > lines / 5:
            stale[name] = (int(listed), lines)
    assert not stale, f"docs/architecture.md lists (lines, now): {stale}"


MAX_ATTRIBUTES = 15  # a class holding more state than this does more than one job
VALUES = {"trio_toolpar._tools._registry.Tool", "trio_toolpar._tools._registry.ToolOptions"}
"""Frozen declarations, one field per option a user can set: no state, no job beyond describing."""


def attributes_of(node: ast.ClassDef) -> set[str]:
    """The names a class holds: its annotated fields and everything its methods assign to ``self``."""
    names = {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Attribute) or not isinstance(sub.ctx, ast.Store):
            continue
        if isinstance(sub.value, ast.Name) and sub.value.id == "self":
            names.add(sub.attr)
    return names


def test_no_class_holds_more_than_about_fifteen_attributes() -> None:
    too_many = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                name = f"{module_name(path)}.{node.name}"
                count = len(attributes_of(node))
                if count > MAX_ATTRIBUTES and name not in VALUES:
                    too_many[name] = count
    assert not too_many, too_many
    # The count sees both kinds of state: what methods assign to self, and annotated fields.
    assert {"_dispatch", "_stopping"} <= attributes_of(_class("_runtime/_turn", "Turn"))
    assert {"call_id", "traceback"} <= attributes_of(_class("_values/_outcome", "Outcome"))


def _class(module: str, name: str) -> ast.ClassDef:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    return next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name)


def test_why_a_call_did_not_end_ok_has_one_shape() -> None:
    """Every such decision is a `Verdict` (status, code, message): no tuple alias of its own, no length checks."""
    shapes = re.compile(r"tuple\[Status, ErrorCode, str\]|len\(\w+\) == 3")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if shapes.search(line)
    ]
    assert not found, found
