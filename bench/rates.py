"""What a local token bucket costs per call, beside the plain cap it sits on.

    python bench/rates.py                          # N = 1,000 no-op calls, 5 repeats
    python bench/rates.py --calls 10000 --repeat 3 --json bench/results/rates.json

One turn of N no-op calls on one resource, each timing one whole ``trio.run``
(the calls built before the clock starts, as in ``cases.toolpar_bench``):

* ``cap``: ``Executor(limits={"svc": N})``;
* ``cap + rate``: the same with ``rates={"svc": Rate(per_second=1e9, burst=N)}``,
  a bucket that never makes a call wait, so the difference is pure bookkeeping;
* ``trio.nursery + CapacityLimiter`` (``peers.trio_nursery``), for scale.

Contenders are interleaved in a rotated order, best of ``--best-of`` runs in
each repeat, and ratios taken within a repeat (see `common.interleaved`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import cases
import common
import peers
from common import BENCH_DIR, interleaved, ratio_samples, spread, spread_cell

from trio_toolpar import Rate

DEFAULT_JSON = BENCH_DIR / "results" / "rates.json"
CAP = "cap"
RATE = "cap + rate"
NURSERY = "trio.nursery + CapacityLimiter"


def measure(n: int, *, repeat: int, best_of: int, schedule: str) -> dict[str, Any]:
    """The figures of one turn of ``n`` calls, with and without the bucket."""
    plain = cases.toolpar_bench(schedule)  # type: ignore[arg-type]
    rated = cases.toolpar_bench(schedule, rate=Rate(per_second=1e9, burst=n))  # type: ignore[arg-type]
    contenders: dict[str, Callable[[], float]] = {
        CAP: lambda: plain(n, cap=n),
        RATE: lambda: rated(n, cap=n),
        NURSERY: lambda: peers.trio_nursery(n, cap=n),
    }
    for fn in contenders.values():
        fn()  # warm imports and caches
    samples = interleaved(contenders, repeat=repeat, best_of=best_of, progress=f"rates n={n}")
    return {
        "calls": n,
        "repeat": repeat,
        "best_of": best_of,
        "schedule": schedule,
        "us_per_call": {k: spread([v / n * 1e6 for v in vs]) for k, vs in samples.items()},
        "rate_over_cap": spread(ratio_samples(samples, RATE, CAP)),
        "rate_minus_cap_us": spread([(r - c) / n * 1e6 for r, c in zip(samples[RATE], samples[CAP], strict=True)]),
        "cap_over_nursery": spread(ratio_samples(samples, CAP, NURSERY)),
    }


def tables(results: dict[str, Any]) -> list[common.Table]:
    """The script's table: (title, header, rows)."""
    us = results["us_per_call"]
    rows = [[name, spread_cell(us[name], digits=1)] for name in (CAP, RATE, NURSERY)]
    rows += [
        ["cap + rate / cap", spread_cell(results["rate_over_cap"])],
        ["cap + rate - cap, us per call", spread_cell(results["rate_minus_cap_us"])],
        ["cap / trio.nursery + CapacityLimiter", spread_cell(results["cap_over_nursery"])],
    ]
    title = (
        f"Local token bucket: {results['calls']:,} no-op calls on one resource ({results['schedule']}), "
        f"us per call on the {results.get('clock', 'wall')} clock, median [min, max] of {results['repeat']} repeats"
    )
    return [(title, ["contender", "value"], rows)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.script_parser(__doc__, DEFAULT_JSON)
    parser.add_argument("--calls", type=int, default=1000, help="calls in the turn (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="repeats to take medians over (default 5)")
    parser.add_argument("--best-of", type=int, default=5, help="runs per repeat, the fastest kept (default 5)")
    parser.add_argument("--schedule", choices=("waves", "eager"), default="waves")
    args = parser.parse_args(argv)
    results = common.stamped(
        lambda: measure(args.calls, repeat=args.repeat, best_of=args.best_of, schedule=args.schedule),
        clock=args.clock,
    )
    common.publish(results, tables(results), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
