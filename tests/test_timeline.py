from __future__ import annotations

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
