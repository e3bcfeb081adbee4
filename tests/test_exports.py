"""The public namespace is exactly what docs/api.md promises, small, and complete for what it returns."""

from __future__ import annotations

import collections
import importlib
import inspect
import re
import sys
import types
import typing
import warnings
from pathlib import Path
from typing import Any

import pytest

import trio_toolpar
import trio_toolpar.abc
import trio_toolpar.compose
import trio_toolpar.events
import trio_toolpar.journal
import trio_toolpar.plan
import trio_toolpar.testing

MAX_TOP_LEVEL = 35
"""The release check's limit: a namespace past this holds names users only receive."""

CORE_MODULES = [
    trio_toolpar.events,
    trio_toolpar.abc,
    trio_toolpar.plan,
    trio_toolpar.compose,
    trio_toolpar.journal,
    trio_toolpar.testing,
]
PUBLIC_MODULES = [
    "trio_toolpar",
    "trio_toolpar.abc",
    "trio_toolpar.compose",
    "trio_toolpar.events",
    "trio_toolpar.journal",
    "trio_toolpar.plan",
    "trio_toolpar.testing",
    "trio_toolpar.openai",
    "trio_toolpar.anthropic",
    "trio_toolpar.agent",
    "trio_toolpar.mcp",
    "trio_toolpar.redis",
    "trio_toolpar.otel",
    "trio_toolpar.prometheus",
]

OLD_TOP_LEVEL = [
    "Approval",
    "Approver",
    "ArgumentsError",
    "AttemptEnded",
    "AttemptStarted",
    "BestEffort",
    "CallContext",
    "CallEvent",
    "CallFinished",
    "CallGranted",
    "CallQueued",
    "CallStarted",
    "ErrorCode",
    "Event",
    "Executor",
    "FailFast",
    "FormatError",
    "Hedge",
    "Instrument",
    "LimitUnavailable",
    "Outcome",
    "OutcomeStream",
    "Pipeline",
    "Plan",
    "PlannedCall",
    "Policy",
    "Race",
    "Rate",
    "RateLimited",
    "RegistrationError",
    "Registry",
    "ResourcePaused",
    "Retry",
    "RetryScheduled",
    "Retryable",
    "Schedule",
    "SchemaError",
    "SharedLimits",
    "SideEffect",
    "Status",
    "Tool",
    "ToolCall",
    "ToolparError",
    "Turn",
    "TurnEnded",
    "TurnResult",
    "TurnStarted",
    "TurnStateError",
    "Verdict",
    "WaveEnded",
    "WaveStarted",
    "parallel",
    "race",
    "raise_for_rate_limit",
    "render_observation",
    "sequence",
    "step",
]
"""``trio_toolpar.__all__`` before the namespace was curated (57 names)."""


def documented(section: str) -> set[str]:
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    block = text.split(f"<!-- exports:{section} -->")[1].split("<!-- /exports -->")[0]
    return set(re.findall(r"^- `([A-Za-z_]+)`", block, flags=re.MULTILINE))


def test_core_exports() -> None:
    assert trio_toolpar.__all__ == sorted(trio_toolpar.__all__, key=str)
    assert set(trio_toolpar.__all__) == documented("trio_toolpar")
    for name in trio_toolpar.__all__:
        assert getattr(trio_toolpar, name) is not None


def test_the_top_level_stays_small() -> None:
    assert len(trio_toolpar.__all__) <= MAX_TOP_LEVEL


@pytest.mark.parametrize("module", CORE_MODULES, ids=lambda m: m.__name__)
def test_public_module_exports(module: types.ModuleType) -> None:
    if module is not trio_toolpar.testing:  # which lists its constant first
        assert module.__all__ == sorted(module.__all__, key=str)
    assert set(module.__all__) == documented(module.__name__)
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_each_name_lives_in_one_public_module() -> None:
    homes: dict[int, list[str]] = collections.defaultdict(list)
    for module in [trio_toolpar, *CORE_MODULES]:
        for name in module.__all__:
            homes[id(getattr(module, name))].append(f"{module.__name__}.{name}")
    assert not [where for where in homes.values() if len(where) > 1]


def test_every_old_top_level_name_still_resolves_with_a_pointer_to_its_home() -> None:
    """Names that moved warn and return the same object as their new home; none vanished."""
    for name in OLD_TOP_LEVEL:
        if name in trio_toolpar.__all__:
            continue
        with pytest.warns(DeprecationWarning, match=f"trio_toolpar.{name} ") as caught:
            old = getattr(trio_toolpar, name)
        message = str(caught[0].message)
        new_name = "RaceRules" if name == "Race" else name
        home = next(m for m in [trio_toolpar, *CORE_MODULES] if new_name in m.__all__)
        assert old is getattr(home, new_name)
        assert f"{home.__name__}" in message, message
        assert caught[0].filename == __file__  # the warning points at the caller's line


def test_an_old_name_imported_with_from_warns_too() -> None:
    with pytest.warns(DeprecationWarning, match=r"from trio_toolpar\.events import TurnStarted"):
        from trio_toolpar import TurnStarted  # type: ignore[attr-defined]
    assert TurnStarted is trio_toolpar.events.TurnStarted


def test_names_that_never_were_top_level_are_attribute_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("CapacityStatistics", "Excutor", "Reference"):
            with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
                getattr(trio_toolpar, name)


def test_importing_the_core_imports_no_edge() -> None:
    import subprocess
    import sys

    edges = ("httpx", "hypothesis", "openai", "anthropic", "opentelemetry", "prometheus_client")
    code = f"import sys, trio_toolpar; print(sorted(m for m in {edges!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- every type a public method returns is importable from a public module ---------------------------


def _exported() -> dict[int, str]:
    found: dict[int, str] = {}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            found.setdefault(id(getattr(module, attr)), f"{name}.{attr}")
    return found


def _fallback_names() -> dict[str, Any]:
    """Names that annotations import only for type checkers, found in any trio_toolpar module."""
    names: dict[str, Any] = {}
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("trio_toolpar"):
            for key, value in vars(module).items():
                if inspect.isclass(value) or isinstance(value, types.ModuleType):
                    names.setdefault(key, value)
    return names


def _returns(fn: Any, fallback: dict[str, Any]) -> Any:
    fn = inspect.unwrap(fn)
    scope = collections.ChainMap(getattr(fn, "__globals__", {}), fallback)
    return typing.get_type_hints(fn, localns=scope).get("return")


def _classes_in(hint: Any) -> list[type]:
    if inspect.isclass(hint) and not typing.get_args(hint):
        return [hint]
    found = []
    origin = typing.get_origin(hint)
    if inspect.isclass(origin):
        found.append(origin)
    for arg in typing.get_args(hint):
        found += _classes_in(arg)
    return found


def _public_callables(obj: Any) -> list[tuple[str, Any]]:
    if not inspect.isclass(obj):
        return [(obj.__name__, obj)] if callable(obj) and inspect.isfunction(inspect.unwrap(obj)) else []
    out = []
    for klass in obj.__mro__:
        if not klass.__module__.startswith("trio_toolpar"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") and name not in ("__aiter__", "__anext__", "__aenter__", "__iter__"):
                continue
            if isinstance(member, property) and member.fget is not None:
                out.append((f"{obj.__name__}.{name}", member.fget))
            elif isinstance(member, (classmethod, staticmethod)):
                out.append((f"{obj.__name__}.{name}", member.__func__))
            elif inspect.isfunction(member):
                out.append((f"{obj.__name__}.{name}", member))
    return out


def test_every_type_a_public_method_returns_is_exported() -> None:
    exported = _exported()
    fallback = _fallback_names()
    checked = 0
    missing = {}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            for where, fn in _public_callables(getattr(module, attr)):
                for klass in _classes_in(_returns(fn, fallback)):
                    checked += 1
                    if klass.__module__.startswith("trio_toolpar") and id(klass) not in exported:
                        missing[where] = f"{klass.__module__}.{klass.__qualname__}"
    assert checked > 100  # the walk sees the API: a broken walk must not pass by finding nothing
    assert not missing, missing


def test_the_return_type_check_can_fail() -> None:
    """The walk finds a private class returned by a public method (as Executor.statistics once did)."""
    from trio_toolpar._runtime._capacity import CapacityStatistics

    found = _classes_in(_returns(trio_toolpar.Executor.statistics, _fallback_names()))
    assert found == [CapacityStatistics]
    assert id(CapacityStatistics) in _exported()  # exported now, from trio_toolpar.events


def test_the_overview_lists_the_core_names_in_the_reference_pages_order() -> None:
    """docs/api.md groups the top level as docs/reference/core.md does: what you build first, errors last."""
    docs = Path(__file__).parent.parent / "docs"
    block = (docs / "api.md").read_text(encoding="utf-8").split("<!-- exports:trio_toolpar -->")[1]
    listed = re.findall(r"^- `([A-Za-z_]+)`", block.split("<!-- /exports -->")[0], flags=re.MULTILINE)
    page = re.findall(r"^::: trio_toolpar\.(\w+)$", (docs / "reference" / "core.md").read_text(encoding="utf-8"), re.M)
    assert listed == page
    assert listed[0] == "Executor" and listed[-1] == "RateLimited"
