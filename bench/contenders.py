"""The turns `instructions.py` counts, each beside the raw Trio it is measured against.

Each contender is a function of N that builds what its turn needs (the
registry, the calls: not what is measured) and returns the measured work, a
function that runs the turn once in ``trio.run``. `instructions.py` runs a
contender in a fresh interpreter: once with a warm-up turn of `WARMUP` calls
first (so that the counts are of a warm process: imports done, caches and
compiled schemas filled, as in a long-lived agent), then the measured turn.

The raw contenders are what a careful engineer writes by hand in Trio:

* ``trio.nursery``: one task per call in a nursery;
* ``trio.nursery+limiter``: the same, each task holding a ``CapacityLimiter(N)``;
* ``trio.chain`` / ``trio.dag``: a task per call that waits for its
  dependencies through one ``trio.Event`` per edge, then passes their values
  to the tool;
* ``trio.pending``: not counted here (see ``memory.py pending``).

The trio_toolpar contenders run the same tool under `Executor.run`; the
chain's and the DAG's calls reference their dependencies (``"$c3"``).
``trio_toolpar(journal)`` runs no-op reads as a durable turn on a
`SqliteJournal` (a new file and turn id per turn), against the same reads
without a journal, ``trio_toolpar(reads)``: the journal's cost per call,
counted in every thread (the commits run on a worker thread), its waits for
the disk left out (`journal.py` times them).
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers

from trio_toolpar import Executor, Outcome, Registry, Status, ToolCall
from trio_toolpar._values._construct import fast_constructor
from trio_toolpar.journal import SqliteJournal

WARMUP = 100
"""Calls in the warm-up turn a contender runs before the measured one."""

Run = Callable[[], None]
Contender = Callable[[int], Run]


def _echo_registry(*, resource: str | None = None) -> Registry:
    registry = Registry()

    @registry.tool(name="echo", side_effect="none", resource=resource)
    async def echo(i: int) -> int:
        return i

    return registry


def _toolpar(registry: Registry, calls: list[ToolCall], **options: object) -> Run:
    def run() -> None:
        async def main() -> None:
            result = await Executor(registry, **options).run(calls)  # type: ignore[arg-type]
            assert result.ok and len(result) == len(calls), result.table()

        trio.run(main)

    return run


def read_registry() -> Registry:
    """One tool, ``read``: a no-op read (the turn `journal.py` times, too)."""
    registry = Registry()

    @registry.tool(side_effect="read")
    async def read(i: int) -> int:
        """A no-op read."""
        return i

    return registry


def read_calls(n: int) -> list[ToolCall]:
    return [ToolCall(id=f"c{i}", tool="read", arguments={"i": i}) for i in range(n)]


def toolpar_reads(n: int, *, journaled: bool = False) -> Run:
    """``n`` no-op reads in one turn; ``journaled``: a durable turn in a new SQLite file."""
    registry, calls = read_registry(), read_calls(n)
    folder = Path(tempfile.mkdtemp(prefix="contender-journal-"))

    def run() -> None:
        async def main() -> None:
            if not journaled:
                result = await Executor(registry).run(calls)
            else:
                async with SqliteJournal(folder / f"turns-{n}.db") as journal:
                    result = await Executor(registry, journal=journal).run(calls, turn_id=f"turn-{n}")
            assert result.ok and len(result) == len(calls), result.table()

        trio.run(main)

    return run


def noop_calls(n: int) -> list[ToolCall]:
    return [ToolCall(id=f"c{i}", tool="echo", arguments={"i": i}) for i in range(n)]


def toolpar_waves(n: int) -> Run:
    return _toolpar(_echo_registry(), noop_calls(n), schedule="waves")


def toolpar_eager(n: int) -> Run:
    return _toolpar(_echo_registry(), noop_calls(n), schedule="eager")


def toolpar_capped(n: int) -> Run:
    return _toolpar(_echo_registry(resource="svc"), noop_calls(n), limits={"svc": n})


def toolpar_open(n: int) -> Run:
    """An open turn fed every call in one burst, then closed."""
    registry, calls = _echo_registry(), noop_calls(n)

    def run() -> None:
        async def main() -> None:
            async with Executor(registry).open_turn() as turn:
                for call in calls:
                    turn.submit(call)
            assert turn.result.ok and len(turn.result) == n

        trio.run(main)

    return run


# -- references: a chain and a random DAG ----------------------------------------------


def _step_registry() -> Registry:
    registry = Registry()

    @registry.tool(name="step", side_effect="none")
    async def step(i: int, prev: list[int]) -> int:
        return i

    return registry


def random_deps(n: int, *, seed: int = 7, window: int = 8) -> list[tuple[int, ...]]:
    """Each call depends on 0-3 of the ``window`` calls before it (seeded)."""
    rng = random.Random(seed)
    deps = []
    for i in range(n):
        fan_in = min(i, window, rng.choice((0, 1, 1, 2, 2, 3)))
        deps.append(tuple(sorted(rng.sample(range(max(0, i - window), i), fan_in))))
    return deps


def chain_deps(n: int) -> list[tuple[int, ...]]:
    return [() if i == 0 else (i - 1,) for i in range(n)]


def referencing_calls(deps: list[tuple[int, ...]]) -> list[ToolCall]:
    return [
        ToolCall(id=f"c{i}", tool="step", arguments={"i": i, "prev": [f"$c{d}" for d in needs]})
        for i, needs in enumerate(deps)
    ]


def toolpar_chain(n: int) -> Run:
    return _toolpar(_step_registry(), referencing_calls(chain_deps(n)), schedule="eager")


def toolpar_dag(n: int) -> Run:
    return _toolpar(_step_registry(), referencing_calls(random_deps(n)), schedule="eager")


def raw_events(deps: list[tuple[int, ...]]) -> Run:
    """A task per call; one ``trio.Event`` per edge; the tool gets its dependencies' values."""

    async def step(i: int, prev: list[int]) -> int:
        return i

    def run() -> None:
        values: list[int | None] = [None] * len(deps)
        edges: list[list[trio.Event]] = [[] for _ in deps]  # by producer: the events of its out-edges
        waits: list[list[tuple[int, trio.Event]]] = [[] for _ in deps]  # by consumer
        for consumer, needs in enumerate(deps):
            for producer in needs:
                event = trio.Event()
                edges[producer].append(event)
                waits[consumer].append((producer, event))

        async def node(i: int) -> None:
            prev = []
            for producer, event in waits[i]:
                await event.wait()
                prev.append(values[producer])
            values[i] = await step(i=i, prev=prev)  # type: ignore[arg-type]
            for event in edges[i]:
                event.set()

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                for i in range(len(deps)):
                    nursery.start_soon(node, i)

        trio.run(main)
        assert values == list(range(len(deps)))

    return run


def trio_chain(n: int) -> Run:
    return raw_events(chain_deps(n))


def trio_dag(n: int) -> Run:
    return raw_events(random_deps(n))


# -- probes -----------------------------------------------------------------------------


def probe_plan(n: int) -> Run:
    registry, calls = _echo_registry(), noop_calls(n)
    executor = Executor(registry)
    return lambda: executor.plan(calls) and None


def probe_floor(n: int, *, capped: bool = False) -> Run:
    """A raw nursery whose task checks the arguments against the tool's schema and structures them (with the
    tool's own compiled check and structuring), checks for cancellation, awaits the tool with them, times it
    and builds one frozen `Outcome` as the library builds its own (`fast_constructor`, not the slower public
    ``Outcome(...)``): the least an executor that validates each call and gives it a frozen outcome can do.
    ``capped``: each task also holds a ``trio.CapacityLimiter(N)`` around the tool, as
    ``trio.nursery+limiter``'s do."""
    make_outcome = fast_constructor(Outcome)
    tool = _echo_registry().get("echo")
    assert tool is not None

    async def floor(arguments: dict[str, int], clock: trio.abc.Clock, limiter: trio.CapacityLimiter | None) -> None:
        if not tool.accepts(arguments):
            raise ValueError(f"{arguments} do not fit the tool's schema")
        kwargs = tool.structure(arguments)
        await trio.lowlevel.checkpoint_if_cancelled()
        started = clock.current_time()
        if limiter is None:
            value = await tool.fn(**kwargs)
        else:
            async with limiter:
                value = await tool.fn(**kwargs)
        now = clock.current_time()
        make_outcome(
            call_id="c",
            tool="echo",
            status=Status.OK,
            value=value,
            latency_ms=round((now - started) * 1e6) / 1e3,
            attempts=1,
            started_at=started,
            finished_at=now,
            wave=0,
        )

    def run() -> None:
        async def main() -> None:
            clock = trio.lowlevel.current_clock()
            limiter = trio.CapacityLimiter(n) if capped else None
            async with trio.open_nursery() as nursery:
                for i in range(n):
                    nursery.start_soon(floor, {"i": i}, clock, limiter)

        trio.run(main)

    return run


CONTENDERS: dict[str, Contender] = {
    "trio.nursery": lambda n: lambda: peers.trio_nursery(n) and None,
    "trio_toolpar(waves)": toolpar_waves,
    "trio_toolpar(eager)": toolpar_eager,
    "trio.nursery+limiter": lambda n: lambda: peers.trio_nursery(n, cap=n) and None,
    "trio_toolpar(waves+cap)": toolpar_capped,
    "trio.chain": trio_chain,
    "trio_toolpar(chain)": toolpar_chain,
    "trio.dag": trio_dag,
    "trio_toolpar(dag)": toolpar_dag,
    "trio_toolpar(open burst)": toolpar_open,
    "trio_toolpar(reads)": toolpar_reads,
    "trio_toolpar(journal)": lambda n: toolpar_reads(n, journaled=True),
    "aiometer(trio)": lambda n: lambda: peers.aiometer_trio(n) and None,
    "probe.plan": probe_plan,
    "probe.floor": probe_floor,
    "probe.floor+limiter": lambda n: probe_floor(n, capped=True),
}
"""Every contender by name: a function of N that prepares the turn and returns it, ready to run."""

BASELINES = {
    "trio_toolpar(waves)": "trio.nursery",
    "trio_toolpar(eager)": "trio.nursery",
    "aiometer(trio)": "trio.nursery",
    "probe.plan": "trio.nursery",
    "probe.floor": "trio.nursery",
    "probe.floor+limiter": "trio.nursery+limiter",
    "trio_toolpar(waves+cap)": "trio.nursery+limiter",
    "trio_toolpar(chain)": "trio.chain",
    "trio_toolpar(dag)": "trio.dag",
    "trio_toolpar(open burst)": "trio_toolpar(waves)",
    "trio_toolpar(reads)": "trio.nursery",
    "trio_toolpar(journal)": "trio_toolpar(reads)",
}
"""What each contender's ratio is taken against; the open turn's is the same calls as one batch."""


def main(argv: list[str]) -> None:
    """``contenders.py NAME N [--prepare-only]``: prepare (and run) NAME after a warm-up; print its CPU seconds."""
    import time

    name, n = argv[0], int(argv[1])
    prepare = CONTENDERS[name]
    prepare(WARMUP)()
    run = prepare(n)
    if "--prepare-only" in argv:
        return
    start = time.process_time()
    run()
    print(time.process_time() - start)


if __name__ == "__main__":
    main(sys.argv[1:])
