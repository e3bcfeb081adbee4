"""The bench runs from the repository alone: its peers import, run, and a missing one is skipped.

No timing is asserted here (timing claims live in bench/); only that the
timing functions run a small turn and return a duration.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
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


@pytest.fixture
def bench_script(bench_modules: tuple[ModuleType, ModuleType]) -> Callable[[str], ModuleType]:
    # The separate scripts import `common`, `cases` and `peers` by plain name, as `python bench/X.py` does.
    return importlib.import_module


def test_the_scaling_script_measures_a_chain_opened_and_batched(
    bench_script: Callable[[str], ModuleType], tmp_path: Path
) -> None:
    scaling = bench_script("scaling")
    out = tmp_path / "scaling.json"
    assert scaling.main(["--sizes", "5,20", "--repeat", "2", "--clock", "cpu", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["clock"] == "cpu"
    assert set(saved["chain"]) == {"5", "20"}
    for row in saved["chain"].values():
        assert len(row["open_over_batch_eager"]["samples"]) == 2
        assert set(row["us_per_call"]) == {scaling.OPEN, scaling.BATCH_EAGER, scaling.BATCH_WAVES}
    assert [t["metric"].split(":")[0] for t in saved["targets"]] == ["chain n=5", "chain n=20"]


def test_the_chain_is_what_the_scaling_script_says(bench_script: Callable[[str], ModuleType]) -> None:
    scaling = bench_script("scaling")
    chain = scaling.chain_calls(3)
    assert [c.arguments for c in chain] == [{"i": 0}, {"i": 1, "prev": "$c0"}, {"i": 2, "prev": "$c1"}]


def test_the_planning_script_plans_a_fan_in_with_the_collector_on_and_off(
    bench_script: Callable[[str], ModuleType], tmp_path: Path
) -> None:
    planning = bench_script("planning")
    out = tmp_path / "planning.json"
    assert planning.main(["--sizes", "5,20", "--repeat", "2", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["growth_sizes"] == [5, 20]
    assert set(saved["growth"]) == {
        planning.FAN_IN,
        planning.INDEPENDENT,
        planning.FAN_IN + planning.COLLECTOR_OFF,
        planning.INDEPENDENT + planning.COLLECTOR_OFF,
    }
    assert len(saved["targets"]) == 1
    fan = planning.fan_in_calls(4)
    assert fan[-1].arguments == {"xs": ["$c0", "$c1", "$c2"]}
    # time_plan checks the fan-in call needs every leaf: a planner that missed one would raise here.
    assert planning.time_plan(planning.fan_in_registry(), fan, fan_in=True) > 0


def test_the_rates_script_compares_a_bucket_with_the_plain_cap(
    bench_script: Callable[[str], ModuleType], tmp_path: Path
) -> None:
    rates = bench_script("rates")
    out = tmp_path / "rates.json"
    assert rates.main(["--calls", "10", "--repeat", "2", "--best-of", "1", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["calls"] == 10
    assert set(saved["us_per_call"]) == {rates.CAP, rates.RATE, rates.NURSERY}
    assert len(saved["rate_over_cap"]["samples"]) == 2


def test_the_journal_script_times_appends_beside_bare_commits_and_a_group_commit(
    bench_script: Callable[[str], ModuleType], tmp_path: Path
) -> None:
    journal = bench_script("journal")
    out = tmp_path / "journal.json"
    assert journal.main(["--count", "5", "--dir", str(tmp_path), "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["count"] == 5
    assert set(saved["modes"]) == {"full", "normal"}
    for figures in saved["modes"].values():
        assert set(figures) == set(journal.MEASURES)
        written = figures["write latency"]
        assert written["append"]["writes"] == written["bare commit"]["writes"] == 5
        assert 0 < written["append"]["median_us"] <= written["append"]["p90_us"]
        assert figures["group commit"]["records"] == 5
        turn = figures["journaled turn"]
        assert turn["calls"] == 5 and turn["turns"] == journal.TURNS
        assert turn["with_over_without"] == pytest.approx(turn["with_us_per_call"] / turn["without_us_per_call"])
        assert turn["appends"] >= 1 and turn["records"] >= 5  # every call's outcome was recorded
    assert list(tmp_path.iterdir()) == [out]  # every database was removed


def test_the_report_includes_each_script_s_saved_run(
    bench_script: Callable[[str], ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, rates = bench_script("report"), bench_script("rates")
    (tmp_path / "bench" / "results").mkdir(parents=True)
    assert (
        rates.main(
            [
                "--calls",
                "5",
                "--repeat",
                "1",
                "--best-of",
                "1",
                "--json",
                str(tmp_path / "bench" / "results" / "rates.json"),
            ]
        )
        == 0
    )
    monkeypatch.setattr(report, "REPO_ROOT", tmp_path)
    section = "\n".join(report.scripts_section())
    assert "Local token bucket vs the plain cap" in section
    assert "| cap + rate / cap |" in section
    assert "Scaling" not in section  # no saved scaling run in this tree


def test_every_counted_contender_runs_a_small_turn(bench_script: Callable[[str], ModuleType]) -> None:
    contenders = bench_script("contenders")
    for name, prepare in contenders.CONTENDERS.items():
        if name == "aiometer(trio)" and importlib.util.find_spec("aiometer") is None:
            continue  # a peer of the bench extra
        prepare(5)()  # each asserts its own turn's result
    assert set(contenders.BASELINES.values()) <= set(contenders.CONTENDERS)


def test_the_counted_dag_is_random_and_its_references_are_its_edges(bench_script: Callable[[str], ModuleType]) -> None:
    contenders = bench_script("contenders")
    deps = contenders.random_deps(50)
    assert deps == contenders.random_deps(50)  # seeded
    assert all(all(d < i for d in needs) for i, needs in enumerate(deps))
    assert sum(map(len, deps)) > 25
    calls = contenders.referencing_calls(deps)
    assert [len(c.arguments["prev"]) for c in calls] == [len(d) for d in deps]


def test_the_memory_script_measures_pending_calls(bench_script: Callable[[str], ModuleType]) -> None:
    memory = bench_script("memory")
    held = {}
    for subject in ("toolpar", "nursery", "floor"):
        figures = memory.pending_turn(subject, 200)
        assert figures["calls"] == 200
        assert figures["pending_heap_per_call_bytes"] > 100  # a blocked task holds at least its frame
        held[subject] = figures["pending_heap_per_call_bytes"]
    # The floor holds a frame and a record more than a bare task; the executor holds more than the floor.
    assert held["nursery"] < held["floor"] < held["toolpar"]
