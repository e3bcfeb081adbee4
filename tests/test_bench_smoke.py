"""The bench runs from the repository alone: its peers import, run, and a missing one is skipped.

No timing is asserted here (timing claims live in bench/); only that the
timing functions run a small turn and return a duration.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture
def bench_modules() -> Iterator[tuple[ModuleType, ModuleType]]:
    # bench/ is a folder of scripts that import each other by plain name, as `python bench/run.py` does.
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("peers"), importlib.import_module("cases")
    finally:
        sys.path.remove(str(BENCH))


def test_the_raw_nursery_peer_times_a_turn(bench_modules: tuple[ModuleType, ModuleType]) -> None:
    peers, _ = bench_modules
    seconds = peers.PEERS["trio.nursery"](10)
    assert isinstance(seconds, float)
    assert seconds > 0


def test_the_raw_nursery_peer_honours_its_cap(bench_modules: tuple[ModuleType, ModuleType]) -> None:
    peers, _ = bench_modules
    # 4 calls of 10 ms two at a time cannot take less than 20 ms, however fast the machine.
    assert peers.PEERS["trio.nursery"](4, delay=0.01, cap=2) >= 0.02


@pytest.mark.parametrize("schedule", ["trio_toolpar(waves)", "trio_toolpar(eager)"])
def test_trio_toolpar_times_a_turn(bench_modules: tuple[ModuleType, ModuleType], schedule: str) -> None:
    _, cases = bench_modules
    seconds = cases.TOOLPAR_OVERHEAD[schedule](10)
    assert isinstance(seconds, float)
    assert seconds > 0


def test_a_peer_whose_package_is_missing_is_skipped_with_a_note(
    bench_modules: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    peers, _ = bench_modules
    monkeypatch.setitem(sys.modules, "aiometer", None)  # `import aiometer` now raises ImportError
    availability = peers.available()
    assert "aiometer(trio)" not in availability.found
    note = availability.skipped["aiometer(trio)"]
    assert "cannot import aiometer" in note
    assert "pip install -e '.[bench]'" in note
    # The peers that need nothing beyond Trio and the standard library are never skipped.
    assert {"trio.nursery", "asyncio.gather"} <= set(availability.found)


@pytest.mark.parametrize("name", ["aiometer(trio)", "langgraph.ToolNode", "pydantic_ai.Agent", "openai_agents.Runner"])
def test_each_framework_peer_is_skipped_without_its_package(
    bench_modules: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    peers, _ = bench_modules
    (peer,) = [p for p in peers.PEER_LIST if p.name == name]
    for module in peer.needs:
        monkeypatch.setitem(sys.modules, module, None)
    availability = peers.available()
    assert name in availability.skipped
    assert name not in availability.found
    assert set(availability.found) | set(availability.skipped) == set(peers.PEERS)
