"""Render bench results (the dict `run.py` builds) as text tables or as docs/benchmarks.md."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from common import REPO_ROOT, Table, md_table, spread, spread_cell, text_tables

SETUP_COMMAND = "python -m venv .venv && .venv/bin/pip install -e '.[bench]'"


def reproduce_command(argv: Sequence[str]) -> str:
    """The command that reproduces this run, from the repository root.

    The interpreter is named by its path when it lives in the repository (``.venv/bin/python``);
    any other is named ``python``, the one the bench extra was installed into.
    """
    exe = Path(sys.executable)
    exe_name = str(exe.relative_to(REPO_ROOT)) if exe.is_relative_to(REPO_ROOT) else "python"
    args = [a for a in argv if a not in ("--no-write",)]
    return shlex.join([exe_name, "bench/run.py", *args])


def _f(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _yes(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[value]


NURSERY_RATIO_TITLE = "trio_toolpar / trio.nursery, per repeat: median [min, max] of the repeats; target <= 2.0"


def _ratio_spread_rows(overhead: Mapping[str, Any], sizes: list[str]) -> list[list[str]]:
    """One row per trio_toolpar schedule: its ratio to the raw nursery's, median [min, max] over the repeats."""
    samples = overhead.get("samples_ratios")
    if not samples:
        return []
    rows = []
    for subject in ("trio_toolpar(waves)", "trio_toolpar(eager)"):
        row = [subject]
        for n in sizes:
            values = samples.get(n, {}).get(subject, {}).get("trio.nursery")
            row.append(spread_cell(spread(values)) if values else "-")
        rows.append(row)
    return rows


def _limiter_ratio(limited: Mapping[str, Any], n: str) -> str:
    """The capped pair's ratio at ``n``: median [min, max] of its repeats."""
    samples = limited["samples_ratio"].get(n)
    return spread_cell(spread(samples)) if samples else "-"


def tables(results: Mapping[str, Any]) -> list[Table]:
    out: list[Table] = []
    overhead = results.get("overhead")
    if overhead:
        sizes = [str(n) for n in overhead["sizes"]]
        us = overhead["us_per_call"]
        ratios = overhead["ratios"]
        names = list(dict.fromkeys(name for n in sizes for name in us[n]))
        header = ["contender"]
        for n in sizes:
            header += [f"us/call N={n}", f"waves / it N={n}", f"eager / it N={n}"]
        rows = []
        for name in names:
            row = [name]
            for n in sizes:
                row.append(_f(us[n].get(name), 1))
                for subject in ("trio_toolpar(waves)", "trio_toolpar(eager)"):
                    r = ratios[n].get(subject, {}).get(name)
                    row.append(_f(r) if r is not None else ("1.00" if name == subject else "-"))
            rows.append(row)
        plan = overhead.get("plan_us_per_call", {})
        rows.append(["(trio_toolpar planning alone)", *[x for n in sizes for x in (_f(plan.get(n), 1), "", "")]])
        clock = overhead.get("clock", "wall")
        out.append(
            (
                f"1. Overhead per call: N no-op async tools in one turn ({clock} clock, median of best-of runs)",
                header,
                rows,
            )
        )
        spread_rows = _ratio_spread_rows(overhead, sizes)
        if spread_rows:
            out.append(
                (
                    f"   {NURSERY_RATIO_TITLE}",
                    ["subject", *[f"N={n}" for n in sizes]],
                    spread_rows,
                )
            )
        n0 = overhead.get("model_overhead_us_n0")
        if n0:
            out.append(
                (
                    "   whole-run peers: one agent run with N=0 (model round trip, no tools), us",
                    ["peer", "us"],
                    [[k, _f(v, 0)] for k, v in n0.items()],
                )
            )
        off = overhead.get("collector_off")
        if off:
            on = us[str(off["n"])]
            on_ratio = ratios[str(off["n"])].get(off["subject"], {}).get(off["baseline"])
            out.append(
                (
                    f"   diagnostic, N={off['n']}: garbage collector on (as measured above) and off; not a target",
                    ["collector", f"{off['subject']} us/call", f"{off['baseline']} us/call", "ratio"],
                    [
                        ["on", _f(on.get(off["subject"]), 1), _f(on.get(off["baseline"]), 1), _f(on_ratio)],
                        [
                            "off",
                            _f(off["us_per_call"].get(off["subject"]), 1),
                            _f(off["us_per_call"].get(off["baseline"]), 1),
                            _f(off["ratio"]),
                        ],
                    ],
                )
            )
        limited = overhead.get("with_limiter")
        if limited:
            out.append(
                (
                    "   with a cap of N that never binds: trio_toolpar's resource cap vs a raw nursery whose tasks "
                    f"each hold a trio.CapacityLimiter(N); {limited.get('repeats', '?')} repeats; target <= 2.0",
                    [
                        "N",
                        f"{limited['subject']} us/call",
                        f"{limited['baseline']} + limiter us/call",
                        "ratio: median [min, max] of the repeats",
                    ],
                    [
                        [
                            n,
                            _f(limited["us_per_call"][n].get(limited["subject"]), 1),
                            _f(limited["us_per_call"][n].get(limited["baseline"]), 1),
                            _limiter_ratio(limited, n),
                        ]
                        for n in sizes
                        if n in limited["us_per_call"]
                    ],
                )
            )
    capped = results.get("capped")
    if capped:
        floor = capped["ratio"].get("trio.nursery")
        rows = [
            [name, _f(v, 3), _f(v / floor, 3) if floor else "-", "yes" if v >= 0.999 else "NO (cap not honoured)"]
            for name, v in capped["ratio"].items()
        ]
        header = ["contender", "makespan / bound", "vs trio.nursery", "cap honoured"]
        out.append((f"2. Capped makespan: {capped['what']}", header, rows))
    dag = results.get("dag")
    if dag:
        header = [
            "seed",
            "calls",
            "edges",
            "crit. path s",
            "eager/cp",
            "waves/cp",
            "raw trio/cp",
            "eager/raw",
            "eager mock/cp",
            "waves mock/cp",
            "waves mock/wave bound",
            "networkx agrees",
        ]
        rows = [
            [
                str(s["seed"]),
                str(s["calls"]),
                str(s["edges"]),
                _f(s["critical_path_s"], 3),
                _f(s["eager_real_ratio"], 3),
                _f(s["waves_real_ratio"], 3),
                _f(s["raw_trio_real_ratio"], 3),
                _f(s["eager_real_vs_raw_trio"], 3),
                _f(s["eager_mock_ratio"], 6),
                _f(s["waves_mock_ratio"], 3),
                _f(s["waves_mock_vs_waves_bound"], 6),
                _yes(s["networkx_agrees"]),
            ]
            for s in dag["per_seed"]
        ]
        summary = dag["summary"]
        for stat in ("median", "max"):
            rows.append(
                [stat, "", "", ""]
                + [
                    _f(summary[k][stat], 6 if "mock" in k and k != "waves_mock_ratio" else 3)
                    for k in (
                        "eager_real_ratio",
                        "waves_real_ratio",
                        "raw_trio_real_ratio",
                        "eager_real_vs_raw_trio",
                        "eager_mock_ratio",
                        "waves_mock_ratio",
                        "waves_mock_vs_waves_bound",
                    )
                ]
                + [""]
            )
        out.append((f"3. DAG makespan: {dag['what']}", header, rows))
    memory = results.get("memory")
    if memory:
        rows = []
        for name, m in memory["big"].items():
            rows.append(
                [
                    name,
                    str(m["calls"]),
                    _f(m["tracemalloc_peak_per_call_bytes"], 0),
                    _f(m["tracemalloc_retained_per_call_bytes"], 0),
                    _f(m["peak_rss_growth_per_call_bytes"], 0),
                ]
            )
        rss_ratio = memory.get("peak_rss_vs_nursery")
        rows.append(
            [
                "trio_toolpar / trio.nursery",
                "",
                _f(memory["heap_peak_vs_nursery"]),
                "",
                _f(rss_ratio) if rss_ratio is not None else "-",
            ]
        )
        out.append(
            (
                "4a. Scale: one turn of N no-op calls, bytes per call",
                ["subject", "N", "heap peak/call", "heap retained/call (result)", "peak RSS growth/call"],
                rows,
            )
        )
        t = memory["turns"]
        out.append(
            (
                f"4b. Drift: {t['turns']} turns of {t['calls_per_turn']} calls back to back, one executor "
                f"(after {t['warmup_turns']} warm-up turns; sampled every {t['sample_every']})",
                ["metric", "value"],
                [
                    ["Python heap growth, whole run (bytes)", str(t["heap_growth_bytes"])],
                    ["Python heap growth, last half (bytes)", str(t["heap_growth_second_half_bytes"])],
                    ["Python heap slope (bytes/turn)", _f(t["heap_slope_bytes_per_turn"], 3)],
                    ["RSS growth, whole run (bytes)", str(t["rss_growth_bytes"])],
                    ["RSS growth, last half (bytes)", str(t["rss_growth_second_half_bytes"])],
                    [
                        f"time per {t['sample_every']} turns, first / last block (ms)",
                        f"{_f(t['block_ms'][0], 1)} / {_f(t['block_ms'][-1], 1)}",
                    ],
                    ["time per block, median of second half / first half", _f(t["time_drift_second_vs_first_half"], 3)],
                ],
            )
        )
    stream = results.get("streaming_dispatch")
    if stream and stream.get("status") == "measured":
        out.append(
            (
                "5. Streaming dispatch (3 calls complete at 0.1/0.2/0.3 s, stream ends 0.4 s, tools 0.2 s)",
                ["dispatch", "turn latency (s)", "÷ its lower bound", "bound (s)"],
                [
                    ["while streaming", _f(stream["stream_s"], 4), _f(stream["stream_over_bound"], 3), "0.5"],
                    ["after the whole message", _f(stream["batch_s"], 4), _f(stream["batch_over_bound"], 3), "0.6"],
                    ["batch ÷ streaming", _f(stream["batch_over_stream"], 3), "", ""],
                ],
            )
        )
    elif stream:
        out.append(("5. Streaming dispatch", ["status", "why"], [[stream["status"], stream.get("reason", "")]]))
    goals = results.get("targets")
    if goals:
        rows = [
            [
                g["scenario"],
                g["metric"],
                "-" if g["value"] is None else f"{g['value']:.4g}",
                g["target"],
                _yes(g["met"]),
            ]
            for g in goals
        ]
        out.append(("Targets", ["scenario", "metric", "value", "target", "met"], rows))
    return out


def text(results: Mapping[str, Any]) -> str:
    """Every table as fixed-width text."""
    return text_tables(tables(results))


INSTRUCTIONS = REPO_ROOT / "bench" / "results" / "instructions.json"


def instructions_section() -> list[str]:
    """The table of `bench/instructions.py`'s last saved run, if there is one."""
    if not INSTRUCTIONS.exists():
        return []
    import json

    saved = json.loads(INSTRUCTIONS.read_text())
    counts: dict[str, int] = saved["instructions_per_call"]
    baselines: dict[str, str] = saved.get("baselines", {})
    rows = []
    for name, value in counts.items():
        baseline = baselines.get(name, name)
        rows.append([name, f"{value:,}", f"{value / counts[baseline]:.2f} / {baseline}"])
    return [
        f"### Instructions per call (N={saved['calls']:,}, CPython {saved['python']}; "
        "`python bench/instructions.py --json bench/results/instructions.json`, a separate run)",
        "",
        md_table(["contender", "instructions / call", "ratio"], rows),
        "",
        "Each contender runs after a warm-up turn in a fresh process (see `bench/contenders.py`). "
        "`probe.plan` is `Executor.plan` alone; `probe.floor` a raw nursery whose task checks and structures "
        "the arguments (with the tool's own compiled check and structuring), checks for cancellation, "
        "awaits the tool, times it and builds one `Outcome` (with the library's generated constructor); "
        "`probe.floor+limiter` the same, holding a `trio.CapacityLimiter(N)`. "
        "The capped pair: `trio.nursery+limiter`'s tasks each hold a `trio.CapacityLimiter(N)`, "
        "`trio_toolpar(waves+cap)`'s tool has a resource capped at N. "
        "`trio.chain` and `trio.dag` are raw Trio by hand with one `trio.Event` per edge, against eager turns "
        "whose calls reference their dependencies; the open turn is fed every call in one burst, against the "
        "same calls as a batch. CPU time per call is in the JSON file beside each count. "
        "See the docstring of `bench/instructions.py`.",
        "",
    ]


SCRIPTS = (
    ("scaling", "A long reference chain: open turn vs batch", "python bench/scaling.py"),
    ("planning", "Planning one huge fan-in", "python bench/planning.py"),
    ("rates", "Local token bucket vs the plain cap", "python bench/rates.py"),
    ("journal", "SQLite journal: a durable append beside a bare commit", "python bench/journal.py"),
)
"""The separate scripts whose last saved run (``bench/results/<name>.json``) the report includes."""


def scripts_section() -> list[str]:
    """The tables of each separate script's last saved run (see `SCRIPTS`), with its noise."""
    import importlib
    import json

    parts: list[str] = []
    for name, heading, command in SCRIPTS:
        path = REPO_ROOT / "bench" / "results" / f"{name}.json"
        if not path.exists():
            continue
        saved = json.loads(path.read_text())
        m = saved["machine"]
        parts += [
            f"### {heading} (`{command}`, a separate run at git {m['git_commit']}, {saved['wall_seconds']} s)",
            "",
            f"Load average (1, 5, 15 min) at start {m['load_average']}, at end {saved['load_average_end']}.",
            "",
        ]
        for title, header, rows in importlib.import_module(name).tables(saved):
            parts += [f"**{title}**", "", md_table(header, rows), ""]
    return parts


def markdown(results: Mapping[str, Any]) -> str:
    """docs/benchmarks.md: the machine, the command, every table, and how to read them."""
    m = results["machine"]
    cfg = results["config"]
    pkgs = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    parts = [
        "# Benchmarks",
        "",
        "<!-- Generated by bench/run.py; edit bench/report.py, not this file. -->",
        "",
        "trio_toolpar measured beside the peers of `bench/peers.py` in one process and one run. "
        "Each figure is the median over the repeats; ratios are taken within a repeat, then the median. "
        "Figures on a shared 2-core machine are noisy: compare ratios from one run, not absolute times across runs.",
        "",
        "## Reproduce",
        "",
        "From the repository root of a fresh clone:",
        "",
        "```sh",
        f"{SETUP_COMMAND}   # once",
        results["command"],
        "```",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']}, nproc {m['nproc']} (usable {m['cpus_usable']})",
        f"- {m['platform']}, {m['python_implementation']} {m['python']}",
        f"- packages: {pkgs}",
        f"- trio_toolpar at git {m['git_commit']}"
        + (" with uncommitted changes in trio_toolpar/" if m["trio_toolpar_dirty"] else ""),
        f"- run: {results['generated_utc']}, {results.get('wall_seconds', '?')} s, repeats {cfg['repeat']}"
        + (" (quick)" if cfg["quick"] else ""),
        f"- load average (1, 5, 15 min) at start {m.get('load_average')}, at end {results.get('load_average_end')}"
        " (other work on the machine during the run makes every figure noisier)",
        "",
        "## Results",
        "",
    ]
    for title, header, rows in tables(results):
        parts += [f"### {title}", "", md_table(header, rows), ""]
    parts += instructions_section()
    parts += scripts_section()
    parts += [
        "## How to read these",
        "",
        "- **Overhead** times one whole `trio.run` (or `asyncio.run`) of one turn, exactly as `bench/peers.py` "
        "times its peers: tools are registered and calls built before the clock starts. `waves / it` is trio_toolpar's "
        "time divided by that contender's (below 1: trio_toolpar is faster). The pydantic-ai and OpenAI Agents "
        "figures cover a whole agent run (two model responses); their N=0 run is listed for scale. "
        "Planning alone is `Plan.build` without running anything.",
        "- **The collector at N=10,000**: until a turn ends it keeps two objects per call alive (the run's "
        "record, which is the planner's draft, and the outcome) where a raw nursery keeps none, and the harness "
        "freezes the peers' objects, so the collector's passes over a turn's own objects fall inside its timing. "
        "The diagnostic run with the collector off shows how much of the gap at 10,000 calls that is; the "
        "targets are judged with it on.",
        "- **Capped makespan** below 1.0 means the contender did not honour the cap: LangGraph's `max_concurrency` "
        "does not bound the tool calls inside one ToolNode, and pydantic-ai has no per-turn tool cap.",
        "- **DAG makespan** divides by the critical path, computed from the generator's own dependency lists (not "
        "the planner's) and cross-checked with networkx. On the real clock every sleep ends slightly after its "
        "deadline (epoll waits in whole milliseconds), once per call on the critical path: `raw trio/cp` is the same "
        "DAG hand-written with raw Trio tasks and Events, the floor any Trio executor shares, and `eager/raw` is "
        "trio_toolpar's own share. On `MockClock` eager must equal the critical path exactly and waves the sum of "
        "each wave's slowest call (invariant 8).",
        "- **Memory**: each one-turn figure comes from a fresh process (peak RSS is a high-water mark); heap "
        "figures are tracemalloc. Drift samples the heap and RSS after `gc.collect()` between turns; no growth "
        "over the last half of the run is the target: the last half's highest sample may not rise above the first "
        "half's (a plateau that dips and recovers is not growth; a leak keeps setting new highs).",
        "- **Streaming dispatch** runs the agent loop with a scripted streamed model on the real clock.",
        "- **Reference chain** (`bench/scaling.py`): a chain of calls each referencing the one before "
        '(`"$c{i-1}"`), fed to `executor.open_turn()` one `submit` at a time, against the same calls as one '
        "`executor.run` batch in each schedule; an open turn always runs eager, so the eager batch is the "
        "like-for-like (target: open within 2x of it per call).",
        "- **Fan-in planning** (`bench/planning.py`): n-1 independent calls and one call whose list argument "
        "references all of them; `Plan.build` per call at the largest size over the smallest shows whether "
        "planning stays linear (target 1.5x, judged with the garbage collector on; the collector-off columns "
        "separate the planner's own growth from the collector's passes over a growing heap).",
        "- **Token bucket** (`bench/rates.py`): one turn of N no-op calls on one capped resource, with and "
        "without a `Rate` so generous it never makes a call wait: the difference is the bucket's bookkeeping.",
        "- **SQLite journal** (`bench/journal.py`): one `SqliteJournal.append` of one `Started` record awaited "
        "from Trio, alternating with a bare `sqlite3` commit of the same row (same pragmas, same disk), in both "
        "`synchronous` modes; with `full` both wait for the disk's flush, so the ratio is the journal's own cost. "
        "Then N records as one append (the runtime's group commit) against N appends, and a turn of N no-op "
        "reads run without a journal and with one (its claim, begin, group-committed records and load): the "
        "medians of as many turns of each as the table's title says, alternating, and their ratio (target: 2x); "
        "`bench/instructions.py` counts the same reads' instructions per call with and without the journal.",
        "- **Where the time goes**: `python bench/profile_hotpath.py` profiles the N=10,000 "
        "overhead case (phase split, cProfile, pyinstrument); `bench/instructions.py` counts instructions "
        "under valgrind, which do not move with the machine's load as wall-clock time does.",
        "",
    ]
    notes = results.get("notes")
    if notes:
        parts += ["## Notes from this run", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(parts)
