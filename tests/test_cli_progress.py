"""The live progress of ``trio-toolpar``: each call's state from the turn's events, at exact virtual times.

The views are drawn from a `TurnProgress` that is an instrument of the
executor, as the command builds it; here the turn runs on ``autojump_clock``
and the test looks at the progress at chosen instants. The same views in a
real terminal are in test_cli_terminal.py.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
import trio
import trio.testing
from rich.console import Console

from trio_toolpar import Executor, Registry, Retry, Retryable, ToolCall
from trio_toolpar._cli._play import TICK, show_progress
from trio_toolpar._cli._progress import Phase, TurnProgress
from trio_toolpar._cli._rich import RichProgress
from trio_toolpar._cli._views import PlainProgress, make_progress

tools = Registry()
tries: dict[str, int] = {}


@tools.tool(side_effect="read", resource="api")
async def fetch(name: str, seconds: float) -> str:
    """Take ``seconds``."""
    await trio.sleep(seconds)
    return name


@tools.tool(side_effect="read")
async def pause(seconds: float) -> None:
    """Take ``seconds``, on no resource."""
    await trio.sleep(seconds)


@tools.tool(side_effect="read", retry=Retry(attempts=2, backoff=2.0, jitter=0.0))
async def flaky(name: str) -> str:
    """Fail after 1 s the first time; take 1 s the second."""
    tries[name] = tries.get(name, 0) + 1
    await trio.sleep(1)
    if tries[name] == 1:
        raise Retryable("try again")
    return name


async def started(
    nursery: trio.Nursery, calls: list[ToolCall], *, limits: dict[str, int], **options: object
) -> TurnProgress:
    """Start a turn of ``calls`` whose executor reports to the progress returned, as the command does."""
    schedule = options.pop("schedule", "eager")
    assert schedule in ("eager", "waves")
    max_concurrency = options.pop("max_concurrency", None)
    assert max_concurrency is None or isinstance(max_concurrency, int)
    progress = TurnProgress(limits=limits, max_concurrency=max_concurrency, schedule=schedule)
    executor = Executor(
        tools,
        limits=limits,
        max_concurrency=max_concurrency,
        schedule=schedule,
        instruments=[progress],  # not deterministic=True: as the command runs it
    )
    turn = executor.turn(calls)
    progress.watch(turn.plan)
    nursery.start_soon(turn.run)
    await trio.testing.wait_all_tasks_blocked()
    return progress


def states(progress: TurnProgress) -> dict[str, str]:
    now = trio.current_time()
    return {row.call_id: progress.state(i, now) for i, row in enumerate(progress.rows)}


def call(call_id: str, tool: str, **arguments: object) -> ToolCall:
    return ToolCall(id=call_id, tool=tool, arguments=arguments)


async def test_queued_running_retrying_and_done_are_told_apart(autojump_clock: trio.testing.MockClock) -> None:
    tries.clear()
    calls = [
        call("a", "fetch", name="a", seconds=2),
        call("b", "fetch", name="b", seconds=2),
        call("c", "fetch", name="c", seconds=2),
        call("f", "flaky", name="f"),
        call("d", "fetch", name="$a", seconds=1),
    ]
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        progress = await started(nursery, calls, limits={"api": 1})
        # With --limit api=1 only a runs; b and c wait for the api's slot, d for a's value.
        assert states(progress) == {
            "a": "running",
            "b": "queued for api",
            "c": "queued for api",
            "f": "running",
            "d": "waiting for a",
        }
        assert progress.queues(trio.current_time()) == ["api: 1/1 running, 2 queued"]
        assert progress.summary() == "0/5 done, 2 running, 2 queued (api 2), 1 waiting"

        await trio.sleep_until(t0 + 1.5)  # f's first attempt failed at 1; its second queues at 3
        assert states(progress)["f"] == "retrying: attempt 2 in 1.500 s"
        assert progress.summary() == "0/5 done, 1 running, 2 queued (api 2), 1 retrying, 1 waiting"

        await trio.sleep_until(t0 + 3.5)  # a ended at 2: b runs; d queues behind c (plan order)
        assert states(progress) == {
            "a": "ok",
            "b": "running",
            "c": "queued for api",
            "f": "running (attempt 2)",
            "d": "queued for api",
        }
        assert progress.rows[1].since == t0 + 2.0
        assert progress.shown(progress.rows[1].since) == 2.0
    assert states(progress) == dict.fromkeys("abcfd", "ok")
    assert progress.summary() == "5/5 done"
    assert progress.count(Phase.DONE) == 5


async def test_a_queued_call_names_the_limits_that_are_full(autojump_clock: trio.testing.MockClock) -> None:
    calls = [
        call("a", "fetch", name="a", seconds=1),
        call("p", "pause", seconds=1),
        call("b", "fetch", name="b", seconds=1),
        call("q", "pause", seconds=1),
    ]
    async with trio.open_nursery() as nursery:
        progress = await started(nursery, calls, limits={"api": 1}, max_concurrency=2)
        assert states(progress) == {
            "a": "running",
            "p": "running",
            "b": "queued for api, max-concurrency",
            "q": "queued for max-concurrency",  # it has no resource: only the cap on all calls holds it
        }
        assert progress.queues(trio.current_time()) == [
            "api: 1/1 running, 1 queued",
            "max-concurrency: 2/2 running, 2 queued",
        ]
        assert progress.summary() == "0/4 done, 2 running, 2 queued (api 1, max-concurrency 2)"


async def test_under_waves_a_call_waits_for_the_calls_it_needs(autojump_clock: trio.testing.MockClock) -> None:
    calls = [call("a", "fetch", name="a", seconds=1), call("b", "fetch", name="$a", seconds=1)]
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        progress = await started(nursery, calls, limits={}, schedule="waves")
        assert states(progress) == {"a": "running", "b": "waiting for a"}
        await trio.sleep_until(t0 + 1.5)
        assert states(progress) == {"a": "ok", "b": "running"}


def test_waiting_for_a_wave_is_said_so() -> None:
    progress = TurnProgress(limits={}, max_concurrency=None, schedule="waves")
    plan = Executor(tools).plan([call("a", "fetch", name="a", seconds=1), call("b", "fetch", name="$a", seconds=1)])
    progress.watch(plan)
    progress.rows[0].phase = Phase.DONE  # a is done, but wave 1 has not begun
    assert progress.state(1, 0.0) == "waiting for wave 1"


async def test_the_rich_view_shows_the_clock_the_queues_and_each_call(autojump_clock: trio.testing.MockClock) -> None:
    calls = [call("a", "fetch", name="a", seconds=2), call("b", "fetch", name="b", seconds=2)]
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        progress = await started(nursery, calls, limits={"api": 1})
        await trio.sleep_until(t0 + 0.75)
        console = Console(file=io.StringIO(), width=100, color_system=None)
        console.print(RichProgress(io.StringIO(), console=console).render(progress, trio.current_time()))
    lines = [" ".join(line.split()) for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert lines == [
        "0.750 s 0/2 done, 1 running, 1 queued (api 1)",
        "api: 1/1 running, 1 queued",
        "call tool state since s",
        "a fetch running 0.000",
        "b fetch queued for api 0.000",
    ]


class Recorder:
    """A view that notes when it is shown, and what moved."""

    def __init__(self, *, ticks: bool) -> None:
        self.ticks = ticks
        self.shown: list[tuple[float, list[str]]] = []
        self.stopped = False

    def start(self, progress: TurnProgress) -> None:
        pass

    def show(self, progress: TurnProgress, moved: Sequence[int], now: float) -> None:
        self.shown.append((now, [progress.rows[i].call_id for i in moved]))

    def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize("ticking", [True, False])
async def test_a_ticking_view_is_redrawn_eight_times_a_second_while_nothing_moves(
    ticking: bool, autojump_clock: trio.testing.MockClock
) -> None:
    assert TICK <= 0.25  # at least 4 redraws a second
    progress = TurnProgress(limits={}, max_concurrency=None, schedule="eager")
    view = Recorder(ticks=ticking)
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        nursery.start_soon(show_progress, progress, view, ticking)
        await trio.sleep(1.0 + TICK / 2)
        nursery.cancel_scope.cancel()
    times = [round(at - t0, 6) for at, _ in view.shown]
    if ticking:
        assert times == [k * TICK for k in range(1, 9)] + [1.0 + TICK / 2]  # then the last show, as it stops
    else:
        assert times == [1.0 + TICK / 2]
    assert view.stopped


async def test_the_view_is_shown_once_per_instant_with_every_call_that_moved(
    autojump_clock: trio.testing.MockClock,
) -> None:
    view = Recorder(ticks=False)
    calls = [call("a", "fetch", name="a", seconds=1), call("b", "fetch", name="b", seconds=1)]
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        progress = await started(nursery, calls, limits={"api": 1})
        nursery.start_soon(show_progress, progress, view, False)
        await trio.sleep_until(t0 + 3)
        nursery.cancel_scope.cancel()
    # First every call; at 1 a's end and b's grant together (b's queueing at 0 is in the first line).
    assert [(round(at - t0, 6), moved) for at, moved in view.shown] == [
        (0.0, ["a", "b"]),
        (1.0, ["a", "b"]),
        (2.0, ["b"]),
        (3.0, []),
    ]


def test_plain_lines_when_not_on_a_terminal() -> None:
    assert isinstance(make_progress("auto", out=io.StringIO()), PlainProgress)
    assert isinstance(make_progress("plain", out=io.StringIO()), PlainProgress)
