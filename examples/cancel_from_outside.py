"""Cancel a turn from outside, and still read every outcome.

Hold the turn (``turn = executor.turn(calls)``) before running it; when the
caller's own scope is cancelled (here a ``trio.move_on_after``, as when the
user presses stop), ``Cancelled`` leaves ``turn.run()`` as itself, every
running tool sees it and runs its ``finally``, and ``turn.result`` still holds
one outcome per call: the finished ones as they were, the rest ``cancelled``
or ``skipped`` with the code ``cancelled``. Runs on Trio's MockClock.
"""

import trio
import trio.testing

from trio_toolpar import Executor, Registry, ToolCall

tools = Registry()


@tools.tool(side_effect="read")
async def download(name: str, seconds: float) -> str:
    """Download a file; says when its clean-up runs."""
    try:
        await trio.sleep(seconds)
        return f"{name}: {int(seconds * 100)} kB"
    finally:
        print(f"  {name}: clean-up ran at {trio.current_time():.1f} s")


@tools.tool(side_effect="read")
async def summarize(text: str) -> str:
    """Summarize a text."""
    await trio.sleep(1.0)
    return text[:10]


async def main() -> None:
    calls = [
        ToolCall(id="small", tool="download", arguments={"name": "small", "seconds": 1.0}),
        ToolCall(id="large", tool="download", arguments={"name": "large", "seconds": 5.0}),
        ToolCall(id="sum", tool="summarize", arguments={"text": "$large"}),
    ]
    turn = Executor(tools).turn(calls)
    print("running; the caller stops it at 2.5 s")
    with trio.move_on_after(2.5) as scope:
        await turn.run()
    print(f"cancelled from outside: {scope.cancelled_caught}")
    for o in turn.result:
        print(f"{o.call_id}: {o.status} ({o.error_code or 'no error'}) value={o.value!r}")


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
