"""trio_toolpar's side of each scenario, shaped like the peers' functions.

A timing function takes ``(n, delay=0.0, cap=None)`` and returns the seconds
of one whole run, measured exactly as ``peers.py`` measures the peers: the
tool is registered and the calls are built before the clock starts; the
clock covers ``trio.run`` of one turn, start-up and result included.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

import attrs
import peers
import trio
import trio.testing

from trio_toolpar import Executor, Rate, Registry, Schedule, ToolCall, TurnResult

# -- overhead and capped makespan ----------------------------------------------------


def toolpar_bench(schedule: Schedule, *, cap_kind: str = "resource", rate: Rate | None = None) -> Callable[..., float]:
    """A peers.py-style timing function for trio_toolpar.

    Args:
        schedule: the executor's schedule.
        cap_kind: how ``cap`` is applied: ``"resource"`` (a per-resource limit
            on the tool's resource, the usual way) or ``"global"``
            (``max_concurrency``).
        rate: a token bucket on the tool's resource as well (with
            ``cap_kind="resource"`` and a ``cap``).
    """

    def bench(n: int, delay: float = 0.0, cap: int | None = None) -> float:
        registry = Registry()
        resource = "svc" if cap and cap_kind == "resource" else None

        @registry.tool(name="echo", side_effect="none", resource=resource)
        async def echo(i: int) -> int:
            """Echo."""
            if delay:
                await trio.sleep(delay)
            return i

        calls = [ToolCall(id=f"c{i}", tool="echo", arguments={"i": i}) for i in range(n)]
        results: list[TurnResult] = []

        async def main() -> None:
            executor = Executor(
                registry,
                limits={"svc": cap} if resource and cap else None,
                rates={"svc": rate} if resource and rate else None,
                max_concurrency=cap if cap and cap_kind == "global" else None,
                schedule=schedule,
            )
            results.append(await executor.run(calls))

        start = peers.now()
        trio.run(main)
        elapsed = peers.now() - start
        (result,) = results
        if len(result) != n or not result.ok or [o.value for o in result] != list(range(n)):
            raise AssertionError(f"trio_toolpar({schedule}) returned a wrong result for n={n}")
        return elapsed

    return bench


TOOLPAR_OVERHEAD: dict[str, Callable[..., float]] = {
    "trio_toolpar(waves)": toolpar_bench("waves"),
    "trio_toolpar(eager)": toolpar_bench("eager"),
}
TOOLPAR_CAPPED: dict[str, Callable[..., float]] = {
    "trio_toolpar(waves)": toolpar_bench("waves"),
    "trio_toolpar(eager)": toolpar_bench("eager"),
    "trio_toolpar(waves,global)": toolpar_bench("waves", cap_kind="global"),
}


def plan_seconds(n: int) -> float:
    """Seconds to plan (validate, find references and conflicts, compute waves) ``n`` no-op calls."""
    registry = Registry()

    @registry.tool(name="echo", side_effect="none")
    async def echo(i: int) -> int:
        """Echo."""
        return i

    calls = [ToolCall(id=f"c{i}", tool="echo", arguments={"i": i}) for i in range(n)]
    executor = Executor(registry)
    start = peers.now()
    executor.plan(calls)
    return peers.now() - start


# -- DAG makespan ---------------------------------------------------------------------

TICK = 1 / 64
"""Latencies are whole ticks of 1/64 s (16-125 ms), which floats add exactly, so MockClock makespans compare exactly."""


@attrs.frozen
class Dag:
    """A seeded random DAG of calls: ``deps[i]`` are earlier calls that call ``i`` references."""

    seed: int
    ticks: tuple[int, ...]
    deps: tuple[tuple[int, ...], ...]

    @property
    def edges(self) -> int:
        return sum(len(d) for d in self.deps)


def random_dag(seed: int, *, n: int = 32, window: int = 8, max_ticks: int = 8) -> Dag:
    """Calls with 0-3 references each to calls among the ``window`` before them; latencies 1..max_ticks ticks."""
    rng = random.Random(seed)
    ticks: list[int] = []
    deps: list[tuple[int, ...]] = []
    for i in range(n):
        fan_in = min(i, window, rng.choice((0, 1, 1, 2, 2, 3)))
        deps.append(tuple(sorted(rng.sample(range(max(0, i - window), i), fan_in))))
        ticks.append(rng.randint(1, max_ticks))
    return Dag(seed=seed, ticks=tuple(ticks), deps=tuple(deps))


def critical_path_ticks(dag: Dag) -> int:
    """The longest latency-weighted path, by dynamic programming over emission order.

    Independent of the planner: it reads only the generator's own ``deps``
    (which always point to earlier calls).
    """
    finish: list[int] = []
    for i, t in enumerate(dag.ticks):
        finish.append(t + max((finish[d] for d in dag.deps[i]), default=0))
    return max(finish, default=0)


def waves_bound_ticks(dag: Dag) -> int:
    """Sum over topological generations of each generation's slowest call: the best waves can do."""
    level: list[int] = []
    slowest: dict[int, int] = {}
    for i, t in enumerate(dag.ticks):
        lv = 1 + max((level[d] for d in dag.deps[i]), default=-1)
        level.append(lv)
        slowest[lv] = max(slowest.get(lv, 0), t)
    return sum(slowest.values())


def networkx_critical_path_ticks(dag: Dag) -> int | None:
    """The same bound from networkx, as a cross-check (``None`` when networkx is not installed)."""
    try:
        import networkx as nx  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    graph: Any = nx.DiGraph()
    graph.add_node("source")
    for i, t in enumerate(dag.ticks):
        graph.add_edge("source", i, weight=t)
        for d in dag.deps[i]:
            graph.add_edge(d, i, weight=t)
    return int(nx.dag_longest_path_length(graph, weight="weight"))


def dag_calls(dag: Dag) -> list[ToolCall]:
    """The DAG as one turn: each call waits for its dependencies through ``$cN.ticks`` references."""
    return [
        ToolCall(
            id=f"c{i}", tool="step", arguments={"i": i, "ticks": t, "after": [f"$c{d}.ticks" for d in dag.deps[i]]}
        )
        for i, t in enumerate(dag.ticks)
    ]


def dag_registry() -> Registry:
    registry = Registry()

    @registry.tool(name="step", side_effect="none")
    async def step(i: int, ticks: int, after: list[int]) -> dict[str, int]:
        """Sleep ``ticks`` ticks."""
        await trio.sleep(ticks * TICK)
        return {"i": i, "ticks": ticks}

    return registry


def run_dag(dag: Dag, schedule: Schedule, *, mock_clock: bool) -> float:
    """The turn's makespan in seconds on Trio's clock (real or `MockClock`)."""
    registry = dag_registry()
    calls = dag_calls(dag)
    results: list[TurnResult] = []

    async def main() -> None:
        results.append(await Executor(registry, schedule=schedule).run(calls))

    clock = trio.testing.MockClock(autojump_threshold=0) if mock_clock else None
    trio.run(main, clock=clock)
    (result,) = results
    if not result.ok or [o.value["ticks"] for o in result] != list(dag.ticks):
        raise AssertionError(f"DAG seed {dag.seed} ({schedule}) did not run every call ok")
    return result.elapsed


def raw_trio_dag(dag: Dag) -> float:
    """The same DAG hand-written in raw Trio (a task per call waiting on its dependencies' Events).

    This is the floor on the real clock: Trio's timers wake a sleeper a
    little after its deadline (epoll waits in whole milliseconds), and every
    call on the critical path pays that once, whatever runs it.
    """
    makespan: list[float] = []

    async def main() -> None:
        done = [trio.Event() for _ in dag.ticks]

        async def node(i: int) -> None:
            for d in dag.deps[i]:
                await done[d].wait()
            await trio.sleep(dag.ticks[i] * TICK)
            done[i].set()

        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for i in range(len(dag.ticks)):
                nursery.start_soon(node, i)
        makespan.append(trio.current_time() - start)

    trio.run(main)
    return makespan[0]


def dag_case(dag: Dag) -> dict[str, Any]:
    """Makespans of one DAG under both schedules, on the real clock and on MockClock, with the bounds."""
    critical = critical_path_ticks(dag) * TICK
    waves_bound = waves_bound_ticks(dag) * TICK
    nx_ticks = networkx_critical_path_ticks(dag)
    row: dict[str, Any] = {
        "seed": dag.seed,
        "calls": len(dag.ticks),
        "edges": dag.edges,
        "critical_path_s": critical,
        "waves_bound_s": waves_bound,
        "networkx_agrees": None if nx_ticks is None else nx_ticks * TICK == critical,
    }
    for schedule in ("eager", "waves"):
        real = run_dag(dag, schedule, mock_clock=False)
        mock = run_dag(dag, schedule, mock_clock=True)
        row[f"{schedule}_real_s"] = real
        row[f"{schedule}_mock_s"] = mock
        row[f"{schedule}_real_ratio"] = real / critical
        row[f"{schedule}_mock_ratio"] = mock / critical
    raw = raw_trio_dag(dag)
    row["raw_trio_real_s"] = raw
    row["raw_trio_real_ratio"] = raw / critical
    row["eager_real_vs_raw_trio"] = row["eager_real_s"] / raw
    row["waves_real_vs_waves_bound"] = row["waves_real_s"] / waves_bound
    row["waves_mock_vs_waves_bound"] = row["waves_mock_s"] / waves_bound
    return row


# -- 5. streaming dispatch --------------------------------------------------------------


def bench_streaming_dispatch(quick: bool) -> dict[str, Any]:
    """Scenario 5: one agent turn whose three tool calls complete in the model's stream
    at 0.1, 0.2 and 0.3 s, the stream ending at 0.4 s, tools of 0.2 s each (the issue's
    1-2-3-4 s case at a tenth of the scale), on the real clock.

    Dispatch-while-streaming can finish the turn at 0.5 s (the last call's end);
    dispatching after the whole message needs 0.6 s. Reports the median turn
    latency of each over the repeats, and each divided by its own lower bound.
    """
    from trio_toolpar import Executor, Registry, ToolCall
    from trio_toolpar.agent import ScriptedModel, ScriptedReply, run_agent

    registry = Registry()

    @registry.tool(side_effect="read")
    async def probe(n: int) -> int:
        await trio.sleep(0.2)
        return n

    def script() -> list[ScriptedReply]:
        calls = tuple(ToolCall(id=f"c{i}", tool="probe", arguments={"n": i}) for i in range(3))
        return [
            ScriptedReply(calls=calls, call_times=(0.1, 0.2, 0.3), duration=0.4),
            ScriptedReply(text="done"),
        ]

    async def one(dispatch: str) -> float:
        model = ScriptedModel(script(), stream=True)
        result = await run_agent(model, Executor(registry), "triage", dispatch=dispatch)  # type: ignore[arg-type]
        assert result.stop == "answered"
        return result.turns[0].finished_at - result.started_at

    repeats = 3 if quick else 9
    times: dict[str, list[float]] = {"stream": [], "batch": []}
    for _ in range(repeats):
        for dispatch in ("stream", "batch"):
            times[dispatch].append(trio.run(one, dispatch))
    stream = statistics.median(times["stream"])
    batch = statistics.median(times["batch"])
    return {
        "status": "measured",
        "stream_s": stream,
        "batch_s": batch,
        "stream_over_bound": stream / 0.5,
        "batch_over_bound": batch / 0.6,
        "batch_over_stream": batch / stream,
        "repeats": repeats,
    }
