"""Planning one huge fan-in: does `Plan.build` stay linear when one call references every other?

    python bench/planning.py                      # 10,000 and 100,000 calls
    python bench/planning.py --sizes 1000,10000 --repeat 5 --clock cpu --json bench/results/planning.json

``n - 1`` independent calls and one call that references every one of them
(``{"xs": ["$c0", "$c1", ...]}``): microseconds per call of ``Plan.build``
alone, beside ``n`` independent calls (no reference at all) for scale. The
target is linear: per-call time at the largest size within 1.5x of the
smallest, each repeat's largest size over the same repeat's smallest.

Each is measured with the garbage collector on (as a program runs it, and as
the target is judged) and, as a diagnostic, off: planning allocates container
objects for every call, and the collector's passes over a heap that grows
with the turn are a cost that grows faster than the planning itself.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable, Sequence
from typing import Any

import common
import peers
from common import BENCH_DIR, interleaved, spread, spread_cell

from trio_toolpar import Registry, ToolCall
from trio_toolpar.plan import Plan

DEFAULT_JSON = BENCH_DIR / "results" / "planning.json"
FAN_IN = "one n-way fan-in"
INDEPENDENT = "n independent calls"
COLLECTOR_OFF = " (collector off)"
LINEAR_TARGET = 1.5


def fan_in_calls(n: int) -> list[ToolCall]:
    """``n - 1`` leaves and, last, one call whose list argument references every leaf."""
    leaves = [ToolCall(id=f"c{i}", tool="leaf", arguments={"i": i}) for i in range(n - 1)]
    return [*leaves, ToolCall(id="sum", tool="total", arguments={"xs": [f"$c{i}" for i in range(n - 1)]})]


def independent_calls(n: int) -> list[ToolCall]:
    return [ToolCall(id=f"c{i}", tool="leaf", arguments={"i": i}) for i in range(n)]


def fan_in_registry() -> Registry:
    registry = Registry()

    @registry.tool(name="leaf", side_effect="read")
    async def leaf(i: int) -> int:
        """Return ``i``."""
        return i

    @registry.tool(name="total", side_effect="read")
    async def total(xs: list[int]) -> int:
        """Sum ``xs``."""
        return sum(xs)

    return registry


def time_plan(registry: Registry, calls: list[ToolCall], *, fan_in: bool) -> float:
    """Seconds of one ``Plan.build``, checked: with a fan-in, the last call needs every other one."""
    start = peers.now()
    plan = Plan.build(registry, calls)
    elapsed = peers.now() - start
    if plan.rejected or len(plan.calls) != len(calls):
        raise AssertionError(f"planning {len(calls)} calls rejected some")
    if fan_in and len(plan.calls[-1].needs) != len(calls) - 1:
        raise AssertionError(f"the fan-in call needs {len(plan.calls[-1].needs)} calls, not {len(calls) - 1}")
    return elapsed


def _best_of(n: int) -> int:
    """Runs per sample: the same at every size, so that the growth compares like with like."""
    return 3


def _collector_off(fn: Callable[[], float]) -> float:
    gc.disable()
    try:
        return fn()
    finally:
        gc.enable()


def bench_fan_in(sizes: Sequence[int], repeat: int) -> dict[str, Any]:
    registry = fan_in_registry()
    per_call: dict[str, dict[str, list[float]]] = {}
    for n in sizes:
        fan, flat = fan_in_calls(n), independent_calls(n)
        on: dict[str, Callable[[], float]] = {
            FAN_IN: functools.partial(time_plan, registry, fan, fan_in=True),
            INDEPENDENT: functools.partial(time_plan, registry, flat, fan_in=False),
        }
        contenders: dict[str, Callable[[], float]] = {
            **on,
            **{k + COLLECTOR_OFF: functools.partial(_collector_off, fn) for k, fn in on.items()},
        }
        samples = interleaved(contenders, repeat=repeat, best_of=_best_of(n), progress=f"fan-in n={n}")
        per_call[str(n)] = {k: [v / n * 1e6 for v in vs] for k, vs in samples.items()}
    small, large = str(min(sizes)), str(max(sizes))
    names = list(per_call[small])
    return {
        "us_per_call": {n: {k: spread(v) for k, v in row.items()} for n, row in per_call.items()},
        # Repeat r at the largest size over repeat r at the smallest: how per-call cost grows with n.
        "growth": {
            k: spread([b / a for a, b in zip(per_call[small][k], per_call[large][k], strict=True)]) for k in names
        },
        "growth_sizes": [int(small), int(large)],
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    small, large = results["growth_sizes"]
    value = results["growth"][FAN_IN]["median"]
    return [
        {
            "metric": f"fan-in: Plan.build per call at n={large:,} / at n={small:,}, collector on",
            "value": value,
            "target": f"<= {LINEAR_TARGET}",
            "met": value <= LINEAR_TARGET,
        }
    ]


def tables(results: dict[str, Any]) -> list[common.Table]:
    """The script's tables: (title, header, rows)."""
    names = list(results["growth"])
    rows = [[f"{int(n):,}", *[spread_cell(row[k]) for k in names]] for n, row in results["us_per_call"].items()]
    small, large = results["growth_sizes"]
    rows.append([f"{large:,} / {small:,}", *[spread_cell(results["growth"][k]) for k in names]])
    return [
        (
            f"Plan.build, us per call on the {results.get('clock', 'wall')} clock, median [min, max] of "
            f"{results['repeat']} repeats; last row: per-call growth from the smallest size to the largest",
            ["n", *names],
            rows,
        ),
        common.targets_table(results["targets"]),
    ]


def measure(sizes: Sequence[int], repeat: int) -> dict[str, Any]:
    """The fan-in's figures and targets."""
    results = bench_fan_in(sizes, repeat)
    results["targets"] = targets(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    return common.sized_main(argv, __doc__, DEFAULT_JSON, measure, tables)


if __name__ == "__main__":
    sys.exit(main())
