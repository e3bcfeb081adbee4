"""How the core scales with a turn's shape: a long reference chain, opened or batched, and a huge fan-in.

    python bench/scaling.py                       # chains and fan-ins of 10,000 and 100,000 calls
    python bench/scaling.py --sizes 1000,10000 --repeat 5 --json bench/results/scaling.json

Two scenarios, each measured in one process, contenders interleaved in a
rotated order (see `common.interleaved`), ratios taken within a repeat:

* **chain** — call ``i`` references call ``i-1`` (``{"i": i, "prev": "$c{i-1}"}``),
  a no-op ``read`` tool. Per-call time of feeding the chain to
  ``executor.open_turn()`` with one ``turn.submit`` per call, against
  ``executor.run(calls)`` as one batch, in each schedule (an open turn always
  runs eager, so batch eager is the like-for-like; waves makes every call its
  own generation). Each timing is one whole ``trio.run``; the calls are built
  before the clock starts. Target: open within 2x the eager batch per call.
* **fan-in** — ``n - 1`` independent calls and one call that references every
  one of them (``{"xs": ["$c0", "$c1", ...]}``): seconds per call of
  ``Plan.build`` alone. Target: linear, the per-call time at the largest size
  within 1.5x of the smallest. The same number of independent calls
  (no reference at all) is planned beside it for scale.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import common
import peers
import trio
from common import BENCH_DIR, interleaved, ratio_samples, spread, spread_cell

from trio_toolpar import Executor, Plan, Registry, ToolCall, TurnResult

DEFAULT_JSON = BENCH_DIR / "results" / "scaling.json"
OPEN = "open_turn + submit"
BATCH_EAGER = "run (batch, eager)"
BATCH_WAVES = "run (batch, waves)"
FAN_IN = "Plan.build, one n-way fan-in"
INDEPENDENT = "Plan.build, n independent calls"
CHAIN_TARGET = 2.0
LINEAR_TARGET = 1.5


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


def bench_fan_in(sizes: Sequence[int], repeat: int) -> dict[str, Any]:
    registry = fan_in_registry()
    per_call: dict[str, dict[str, list[float]]] = {}
    for n in sizes:
        fan, flat = fan_in_calls(n), independent_calls(n)
        contenders: dict[str, Callable[[], float]] = {
            FAN_IN: functools.partial(time_plan, registry, fan, fan_in=True),
            INDEPENDENT: functools.partial(time_plan, registry, flat, fan_in=False),
        }
        samples = interleaved(contenders, repeat=repeat, best_of=_best_of(n), progress=f"fan-in n={n}")
        per_call[str(n)] = {k: [v / n * 1e6 for v in vs] for k, vs in samples.items()}
    small, large = str(min(sizes)), str(max(sizes))
    return {
        "us_per_call": {n: {k: spread(v) for k, v in row.items()} for n, row in per_call.items()},
        # Repeat r at the largest size over repeat r at the smallest: how per-call cost grows with n.
        "growth": {
            k: spread([b / a for a, b in zip(per_call[small][k], per_call[large][k], strict=True)])
            for k in (FAN_IN, INDEPENDENT)
        },
        "growth_sizes": [int(small), int(large)],
    }


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
    fan = results["fan_in"]
    small, large = fan["growth_sizes"]
    value = fan["growth"][FAN_IN]["median"]
    rows.append(
        {
            "metric": f"fan-in: Plan.build per call at n={large:,} / at n={small:,}",
            "value": value,
            "target": f"<= {LINEAR_TARGET}",
            "met": value <= LINEAR_TARGET,
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
    fan = results["fan_in"]
    rows = [
        [f"{int(n):,}", *[spread_cell(row[k], digits=2) for k in (FAN_IN, INDEPENDENT)]]
        for n, row in fan["us_per_call"].items()
    ]
    small, large = fan["growth_sizes"]
    rows.append([f"{large:,} / {small:,}", *[spread_cell(fan["growth"][k]) for k in (FAN_IN, INDEPENDENT)]])
    out.append(
        (
            f"Planning one n-way fan-in: Plan.build us per call on the {results.get('clock', 'wall')} clock, "
            f"median [min, max] of {results['repeat']} repeats; last row: per-call growth",
            ["n", FAN_IN, INDEPENDENT],
            rows,
        )
    )
    out.append(
        (
            "Targets",
            ["metric", "value", "target", "met"],
            [[t["metric"], f"{t['value']:.2f}", t["target"], "yes" if t["met"] else "NO"] for t in results["targets"]],
        )
    )
    return out


def measure(sizes: Sequence[int], repeat: int) -> dict[str, Any]:
    """Every figure of this script, with the machine and the load before and after."""
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": common.machine(), "repeat": repeat, "sizes": list(sizes)}
    results["chain"] = bench_chain(sizes, repeat)
    results["fan_in"] = bench_fan_in(sizes, repeat)
    results["targets"] = targets(results)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = common.load_average()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.script_parser(__doc__, DEFAULT_JSON)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated sizes (default 10000,100000)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats to take medians over (default 3)")
    args = parser.parse_args(argv)
    peers.use_clock(args.clock)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if len(sizes) < 1 or sizes[0] < 2 or args.repeat < 1:
        parser.error("sizes must be at least 2 and --repeat at least 1")
    results = measure(sizes, args.repeat)
    results["clock"] = args.clock
    common.publish(results, tables(results), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
