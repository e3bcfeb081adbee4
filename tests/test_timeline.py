from __future__ import annotations

import resumed_turn
import trio
import trio.testing
from helpers import Log, sleeper

from trio_toolpar import Executor, Registry, ToolCall


async def test_table_and_timeline(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read", resource="r")
    result = await Executor(registry, limits={"r": 1}).run(
        [
            ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 1}),
            ToolCall(id="b", tool="read", arguments={"tag": "b", "seconds": 1, "fail": True}),
            ToolCall(id="c", tool="nope"),
        ]
    )
    assert result.table().splitlines() == [
        "call  tool  status    error_code    wave  tries  start s  latency ms",
        "----  ----  --------  ------------  ----  -----  -------  ----------",
        "a     read  ok                      0     1      0.000    1000.0",
        "b     read  error     tool_error    0     1      1.000    1000.0",
        "c     nope  rejected  unknown_tool        0               0.0",
    ]
    assert result.timeline(width=10).splitlines() == [
        "       |0   2.000s|",
        "a read |█████     | ok",
        "b read |╌╌╌╌╌▓▓▓▓▓| error (tool_error)",
        "c nope |·         | rejected (unknown_tool)",
        "        █ ok  ▓ error  ▒ timeout  ░ cancelled  ╌ queued  · never started",
    ]


async def test_a_resumed_turn_s_table_and_timeline_mark_replayed_and_in_doubt_calls(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = await resumed_turn.crashed_turn()  # a finished; w (not retry-safe) and k (retry-safe) in flight
    executor = Executor(resumed_turn.registry, journal=journal, deterministic=True)
    result = await executor.run(resumed_turn.CALLS, turn_id="t")
    # a's times are the crashed run's: no start in this turn, its recorded latency.
    assert result.table().splitlines() == [
        "call  tool         status    error_code  wave  tries  start s  latency ms  replayed",
        "----  -----------  --------  ----------  ----  -----  -------  ----------  --------",
        "a     read         ok                    0     1               1000.0      yes",
        "w     write        in_doubt  in_doubt    0     0               0.0",
        "k     keyed_write  ok                    0     1      0.000    3000.0",
    ]
    assert result.timeline(width=10).splitlines() == [
        "              |0   3.000s|",
        "a read        |↺         | ok, replayed",
        "w write       |?         | in_doubt (in_doubt)",
        "k keyed_write |██████████| ok",
        "               █ ok  ▓ error  ▒ timeout  ░ cancelled  ╌ queued  · never started  ? in doubt  ↺ replayed",
    ]
