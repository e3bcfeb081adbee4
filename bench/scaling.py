"""How a long reference chain runs, fed to an open turn one call at a time or given as a batch.

    python bench/scaling.py                       # chains of 10,000 and 100,000 calls
    python bench/scaling.py --sizes 1000,10000 --repeat 5 --clock cpu --json bench/results/scaling.json

Call ``i`` references call ``i-1`` (``{"i": i, "prev": "$c{i-1}"}``), a no-op
``read`` tool. Per-call time of feeding the chain to ``executor.open_turn()``
with one ``turn.submit`` per call, against ``executor.run(calls)`` as one
batch, in each schedule (an open turn always runs eager, so batch eager is the
like-for-like; waves makes every call its own generation). Each timing is one
whole ``trio.run``; the calls are built before the clock starts. Contenders
are interleaved in a rotated order (see `common.interleaved`) and ratios taken
within a repeat. Target: open within 2x the eager batch per call.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any

import common
import peers
import trio
from common import BENCH_DIR, interleaved, ratio_samples, spread, spread_cell

from trio_toolpar import Executor, Registry, ToolCall, TurnResult

DEFAULT_JSON = BENCH_DIR / "results" / "scaling.json"
OPEN = "open_turn + submit"
BATCH_EAGER = "run (batch, eager)"
BATCH_WAVES = "run (batch, waves)"
CHAIN_TARGET = 2.0


def chain_registry() -> Registry:
    registry = Registry()

    @registry.tool(name="step", side_effect="read")
    async def step(i: int, prev: int | None = None) -> int:
        """Return ``i``."""
        return i

    return registry


def chain_calls(n: int) -> list[ToolCall]:
    """Call ``i`` references the whole result of call ``i-1``."""
    return [
        ToolCall(id=f"c{i}", tool="step", arguments={"i": i} if i == 0 else {"i": i, "prev": f"$c{i - 1}"})
        for i in range(n)
    ]


def _check(result: TurnResult, n: int, what: str) -> None:
    if len(result) != n or not result.ok or [o.value for o in result] != list(range(n)):
        raise AssertionError(f"{what} returned a wrong result for a chain of {n}")


def time_chain_batch(registry: Registry, calls: list[ToolCall], schedule: str) -> float:
    """Seconds of one ``trio.run`` of ``Executor.run(calls)``."""
    results: list[TurnResult] = []

    async def main() -> None:
        results.append(await Executor(registry, schedule=schedule).run(calls))  # type: ignore[arg-type]

    start = peers.now()
    trio.run(main)
    elapsed = peers.now() - start
    _check(results[0], len(calls), f"run({schedule})")
    return elapsed


def time_chain_open(registry: Registry, calls: list[ToolCall]) -> float:
    """Seconds of one ``trio.run`` that opens a turn, submits every call and closes it."""
    results: list[TurnResult] = []

    async def main() -> None:
        async with Executor(registry).open_turn() as turn:
            for call in calls:
                turn.submit(call)
        results.append(turn.result)

    start = peers.now()
    trio.run(main)
    elapsed = peers.now() - start
    _check(results[0], len(calls), "open_turn")
    return elapsed


def _best_of(n: int) -> int:
    return 1 if n >= 100_000 else 3


def bench_chain(sizes: Sequence[int], repeat: int) -> dict[str, Any]:
    registry = chain_registry()
    out: dict[str, Any] = {}
    for n in sizes:
        calls = chain_calls(n)
        contenders: dict[str, Callable[[], float]] = {
            OPEN: functools.partial(time_chain_open, registry, calls),
            BATCH_EAGER: functools.partial(time_chain_batch, registry, calls, "eager"),
            BATCH_WAVES: functools.partial(time_chain_batch, registry, calls, "waves"),
        }
        samples = interleaved(contenders, repeat=repeat, best_of=_best_of(n), progress=f"chain n={n}")
        out[str(n)] = {
            "us_per_call": {k: spread([v / n * 1e6 for v in vs]) for k, vs in samples.items()},
            "open_over_batch_eager": spread(ratio_samples(samples, OPEN, BATCH_EAGER)),
            "open_over_batch_waves": spread(ratio_samples(samples, OPEN, BATCH_WAVES)),
        }
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for n, row in results["chain"].items():
        value = row["open_over_batch_eager"]["median"]
        rows.append(
            {
                "metric": f"chain n={n}: open_turn+submit / batch eager, per call",
                "value": value,
                "target": f"<= {CHAIN_TARGET}",
                "met": value <= CHAIN_TARGET,
            }
        )
    return rows


def tables(results: dict[str, Any]) -> list[common.Table]:
    """The scenario's tables: (title, header, rows)."""
    out = []
    chain = results["chain"]
    rows = []
    for n, row in chain.items():
        us = row["us_per_call"]
        rows.append(
            [
                f"{int(n):,}",
                *[spread_cell(us[k], digits=1) for k in (OPEN, BATCH_EAGER, BATCH_WAVES)],
                spread_cell(row["open_over_batch_eager"]),
                spread_cell(row["open_over_batch_waves"]),
            ]
        )
    out.append(
        (
            'Reference chain (call i has "$c{i-1}"): us per call on the '
            f"{results.get('clock', 'wall')} clock, median [min, max] of {results['repeat']} repeats",
            ["n", f"{OPEN} us", f"{BATCH_EAGER} us", f"{BATCH_WAVES} us", "open / batch eager", "open / batch waves"],
            rows,
        )
    )
    out.append(common.targets_table(results["targets"]))
    return out


def measure(sizes: Sequence[int], repeat: int) -> dict[str, Any]:
    """The chain's figures and targets."""
    results: dict[str, Any] = {"chain": bench_chain(sizes, repeat)}
    results["targets"] = targets(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    return common.sized_main(argv, __doc__, DEFAULT_JSON, measure, tables)


if __name__ == "__main__":
    sys.exit(main())
