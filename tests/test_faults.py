"""The fault matrix: what each kind of failure does to a turn, exactly.

Each test names one fault and checks its outcomes (status, error code,
virtual times), that no call is lost, that no executor task is left running
(`toolpar_tasks`, and the whole task tree), that no thread is left running a
tool where that can be avoided, and that ``Cancelled`` and
``KeyboardInterrupt`` propagate as themselves where they must.

Times are on ``MockClock(autojump_threshold=0)`` and exact; the tests of sync
tools are the exception (threads run on the wall clock): they use short real
sleeps and bounded assertions.

The last section holds the hostile inputs and values that crashed the
library or broke the contract until commit 16ec337 (they were first written
as failing tests, in a pending file since removed): deep nesting, values JSON
cannot hold, references to values with code of their own, dependents of a
cancelled call, quadratic planning messages, unredacted tracebacks, provider
payloads.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import types
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import trio
import trio.testing
from conftest import toolpar_tasks
from helpers import Log, sleeper

from trio_toolpar import (
    BestEffort,
    ErrorCode,
    Executor,
    FormatError,
    Outcome,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
    Turn,
    TurnResult,
    render_observation,
)
from trio_toolpar import anthropic as anthropic_format
from trio_toolpar import openai as openai_format
from trio_toolpar.plan import Plan


def call(cid: str, tool: str = "read", **arguments: object) -> ToolCall:
    return ToolCall(id=cid, tool=tool, arguments={"tag": cid, **arguments})


def summary(
    result: TurnResult | tuple[Outcome, ...], start: float
) -> list[tuple[str, Status, ErrorCode | None, float]]:
    """(id, status, code, finish time relative to ``start``) of every outcome."""
    return [(o.call_id, o.status, o.error_code, (o.finished_at or 0.0) - start) for o in result]


def task_count() -> int:
    """Every task alive in this Trio run (the whole tree under the root task)."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    count, stack = 0, [root]
    while stack:
        task = stack.pop()
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count


def threads_running(code: types.CodeType) -> int:
    """How many threads are executing ``code`` right now (anywhere on their stack)."""
    found = 0
    for frame in sys._current_frames().values():
        f: types.FrameType | None = frame
        while f is not None:
            if f.f_code is code:
                found += 1
                break
            f = f.f_back
    return found


def strict_json(text: str) -> Any:
    """Parse ``text`` as standard JSON: ``NaN`` and ``Infinity`` are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
async def no_leaks() -> AsyncIterator[None]:
    """Fail the test if an executor task outlives it."""
    yield
    assert toolpar_tasks() == []


# -- a tool raises -----------------------------------------------------------------------------


async def test_a_tool_that_raises_is_an_error_its_dependents_are_skipped_and_the_rest_runs(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    sleeper(registry, log, "write", side_effect="write", key="doc:{k}")

    @registry.tool
    async def many() -> None:
        await trio.sleep(0.5)
        raise ExceptionGroup("two problems", [ValueError("a"), KeyError("b")])

    tasks_before = task_count()
    start = trio.current_time()
    result = await Executor(registry, schedule="eager").run(
        [
            call("bad", "write", seconds=1, k="x", fail=True),
            call("dep", seconds=1, value="$bad"),
            call("dep2", seconds=1, value="$dep.tag"),
            call("after", "write", seconds=1, k="x"),  # a conflict edge only orders: it still runs
            call("sibling", seconds=3),
            ToolCall(id="group", tool="many"),
        ]
    )
    assert summary(result, start) == [
        ("bad", Status.ERROR, ErrorCode.TOOL_ERROR, 1.0),
        ("dep", Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED, 1.0),
        ("dep2", Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED, 1.0),
        ("after", Status.OK, None, 2.0),
        ("sibling", Status.OK, None, 3.0),
        ("group", Status.ERROR, ErrorCode.TOOL_ERROR, 0.5),
    ]
    bad, dep, dep2, after, _, group = result
    assert (bad.error, bad.attempts, bad.latency_ms) == ("RuntimeError: bad failed", 1, 1000.0)
    assert isinstance(bad.exception, RuntimeError)
    assert dep.error == "not run: it depends on call 'bad', which ended error (tool_error)"
    assert dep2.error == "not run: it depends on call 'dep', which ended skipped (dependency_failed)"
    assert (dep.started_at, dep.attempts, dep2.started_at) == (None, 0, None)
    assert after.started_at == bad.finished_at
    # An ExceptionGroup is the tool's failure, not the executor's: its errors are named (tests/test_tool_exceptions.py).
    assert group.error == "2 errors in the tool's exception group 'two problems': ValueError: a; KeyError: 'b'"
    assert isinstance(group.exception, ExceptionGroup)
    assert set(log.times("finally")) == {"bad", "after", "sibling"}
    assert task_count() == tasks_before


# -- a tool hangs --------------------------------------------------------------------------------


async def test_a_tool_that_hangs_times_out_at_exactly_its_timeout(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    registry = Registry(default_side_effect="read")
    cleaned: list[float] = []

    @registry.tool(timeout=2.0, retry=Retry(attempts=2, backoff=1.0, jitter=0.0))
    async def hang() -> None:
        try:
            await trio.sleep_forever()
        finally:
            cleaned.append(trio.current_time())

    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="h", tool="hang")])
    # attempt 1 [0, 2], backoff 1, attempt 2 [3, 5]: each attempt has its own timeout.
    assert (o.status, o.error_code, o.attempts) == (Status.TIMEOUT, ErrorCode.TIMEOUT, 2)
    assert o.error == "no result within the tool's 2 s timeout (after 2 attempts)"
    assert (o.started_at, o.finished_at, o.latency_ms) == (start, start + 5.0, 5000.0)
    assert [t - start for t in cleaned] == [2.0, 5.0]


async def test_an_async_tool_that_shields_itself_overruns_its_timeout_and_ends_timeout(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """A tool that ignores cancellation (a shielded scope) cannot be stopped by the executor.

    Its timeout fires at 2 but the tool only returns at 10: the turn waits
    for it (overrunning its budget too), and the call ends ``timeout`` then,
    its value discarded, like a sync tool whose thread is waited for.
    """
    registry = Registry()

    @registry.tool(timeout=2.0)
    async def stubborn() -> str:
        with trio.CancelScope(shield=True):
            await trio.sleep(10)
        return "finished anyway"

    start = trio.current_time()
    (o,) = await Executor(registry, budget=5.0).run([ToolCall(id="s", tool="stubborn")])
    assert (o.status, o.value, o.finished_at, o.latency_ms) == (Status.TIMEOUT, None, start + 10.0, 10000.0)


# -- a sync tool ignores cancellation in its thread ----------------------------------------------------------


class Blocker:
    """A sync tool blocked on an event only the test can set, as an uninterruptible call would be."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.returned: list[str] = []

    def __call__(self, name: str) -> str:
        self.release.wait(10)
        self.returned.append(name)
        return name

    @property
    def code(self) -> types.CodeType:
        return Blocker.__call__.__code__

    async def release_after(self, seconds: float) -> None:
        await trio.sleep(seconds)
        self.release.set()


async def wait_for_threads(code: types.CodeType) -> None:
    with trio.fail_after(5):
        while threads_running(code):  # noqa: ASYNC110 - polling other threads' stacks: no Trio event to wait on
            await trio.sleep(0.01)


async def test_a_blocked_sync_tool_past_its_timeout_is_waited_for_and_ends_timeout(no_leaks: None) -> None:
    """Without ``abandon_on_cancel`` the timeout cannot interrupt the thread: the call waits for it.

    Observed: the outcome is ``timeout`` once the thread returns, with a
    latency of the thread's run (about 0.3 s), past the 0.05 s timeout; the
    thread's value is discarded; no thread is left running the tool once
    ``run`` returns.
    """
    blocker = Blocker()
    registry = Registry()
    registry.add(blocker, name="blocked", timeout=0.05, parameters={"type": "object"})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocker.release_after, 0.3)
        start = trio.current_time()
        (o,) = await Executor(registry).run([ToolCall(id="b", tool="blocked", arguments={"name": "waited"})])
        elapsed = trio.current_time() - start
    assert (o.status, o.value, o.attempts) == (Status.TIMEOUT, None, 1)
    assert 0.3 <= elapsed < 3.0
    assert o.latency_ms >= 300.0
    assert blocker.returned == ["waited"]
    assert threads_running(blocker.code) == 0


async def test_an_abandoned_sync_tool_times_out_at_once_and_its_thread_runs_on_unobserved(no_leaks: None) -> None:
    blocker = Blocker()
    registry = Registry()
    registry.add(blocker, name="blocked", timeout=0.05, abandon_on_cancel=True, parameters={"type": "object"})
    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="b", tool="blocked", arguments={"name": "abandoned"})])
    elapsed = trio.current_time() - start
    assert (o.status, o.error_code, o.value) == (Status.TIMEOUT, ErrorCode.TIMEOUT, None)
    assert 0.05 <= elapsed < 1.0
    # The thread cannot be interrupted: it is still blocked in the tool, and its result will be dropped.
    assert threads_running(blocker.code) == 1
    assert blocker.returned == []
    blocker.release.set()
    await wait_for_threads(blocker.code)
    assert blocker.returned == ["abandoned"]
    assert o.value is None


async def test_abandoned_threads_do_not_accumulate(no_leaks: None) -> None:
    """Twenty abandoned calls in a row, each released afterwards: threads are reused, not leaked."""
    registry = Registry()
    blockers = [Blocker() for _ in range(20)]
    for n, blocker in enumerate(blockers):
        registry.add(blocker, name=f"b{n}", timeout=0.02, abandon_on_cancel=True, parameters={"type": "object"})
    baseline = threading.active_count()
    for n, blocker in enumerate(blockers):
        (o,) = await Executor(registry).run([ToolCall(id="x", tool=f"b{n}", arguments={"name": "x"})])
        assert o.status is Status.TIMEOUT
        blocker.release.set()
        await wait_for_threads(blocker.code)
    assert threads_running(Blocker.__call__.__code__) == 0
    # Trio keeps a few idle workers cached; 20 leaked threads would show here.
    assert threading.active_count() <= baseline + 2


@pytest.mark.parametrize("abandon", [False, True])
async def test_a_budget_over_a_blocked_sync_tool(abandon: bool, no_leaks: None) -> None:
    """The turn's budget expires while a sync tool is blocked in its thread.

    Waited for: the turn overruns its budget until the thread returns, and
    the call keeps what the thread returned (``ok``). Abandoned: the call is
    ``cancelled`` (``budget_exceeded``) at the deadline; the thread runs on
    until released.
    """
    blocker = Blocker()
    registry = Registry()
    registry.add(blocker, name="blocked", abandon_on_cancel=abandon, parameters={"type": "object"})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocker.release_after, 0.3)
        start = trio.current_time()
        (o,) = await Executor(registry, budget=0.05).run([ToolCall(id="b", tool="blocked", arguments={"name": "n"})])
        elapsed = trio.current_time() - start
        if abandon:
            assert (o.status, o.error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
            assert 0.05 <= elapsed < 0.3
            assert threads_running(blocker.code) == 1
        else:
            assert (o.status, o.value) == (Status.OK, "n")
            assert 0.3 <= elapsed < 3.0
    await wait_for_threads(blocker.code)
    assert blocker.returned == ["n"]


@pytest.mark.parametrize("abandon", [False, True])
async def test_an_outer_cancellation_over_a_blocked_sync_tool_propagates(abandon: bool, no_leaks: None) -> None:
    blocker = Blocker()
    registry = Registry()
    registry.add(blocker, name="blocked", abandon_on_cancel=abandon, parameters={"type": "object"})
    turn = Executor(registry).turn([ToolCall(id="b", tool="blocked", arguments={"name": "n"})])
    caught: list[BaseException] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocker.release_after, 0.3)
        start = trio.current_time()
        with trio.move_on_after(0.05) as scope:
            try:
                await turn.run()
            except trio.Cancelled as exc:
                caught.append(exc)
                raise
        elapsed = trio.current_time() - start
    assert scope.cancelled_caught
    assert [type(e) for e in caught] == [trio.Cancelled]
    (o,) = turn.result
    if abandon:
        assert (o.status, o.error_code) == (Status.CANCELLED, ErrorCode.CANCELLED)
        assert elapsed >= 0.05
    else:
        # It did return: the caller still sees Cancelled, and the outcome keeps the value.
        assert (o.status, o.value) == (Status.OK, "n")
        assert 0.3 <= elapsed < 3.0
    await wait_for_threads(blocker.code)


# -- a tool returns something JSON cannot hold, or something huge ---------------------------------------------


class Opaque:
    def __str__(self) -> str:
        return "opaque thing"


async def test_a_value_json_cannot_hold_is_kept_and_its_observation_is_still_json(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    registry = Registry()
    values: dict[str, object] = {
        "a_set": {3},
        "raw": b"\x00\xff",
        "opaque": Opaque(),
        "complex": 1 + 2j,
        "nested": {"when": Opaque(), "items": [frozenset({1})]},
    }

    def returning(value: object) -> Callable[[], Any]:
        async def tool() -> object:
            return value

        return tool

    for name, value in values.items():
        registry.add(returning(value), name=name, parameters={"type": "object"})
    result = await Executor(registry).run([ToolCall(id=name, tool=name) for name in values])
    assert [o.status for o in result] == [Status.OK] * len(values)
    assert all(o.value is values[o.call_id] for o in result)  # the caller gets the object itself
    observed = {o.call_id: strict_json(render_observation(o)) for o in result}
    assert {k: v["result"] for k, v in observed.items()} == {
        "a_set": [3],
        "raw": "<2 bytes, base64: AP8=>",  # cattrs' JSON converter writes bytes as base85
        "opaque": "<Opaque: opaque thing>",
        "complex": "<complex: (1+2j)>",
        "nested": {"when": "<Opaque: opaque thing>", "items": [[1]]},
    }


async def test_a_50_mb_result_is_kept_whole_and_its_observation_is_truncated_with_a_marker(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    registry = Registry()
    size = 50 * 1024 * 1024

    @registry.tool
    async def dump() -> str:
        await trio.sleep(1)
        return "x" * size

    @registry.tool
    async def rows() -> list[dict[str, int]]:
        return [{"n": n} for n in range(500_000)]  # about 4 MB of JSON

    start = trio.current_time()
    big, many = await Executor(registry).run([ToolCall(id="d", tool="dump"), ToolCall(id="r", tool="rows")])
    assert (big.status, big.finished_at, len(big.value)) == (Status.OK, start + 1.0, size)
    text = render_observation(big)
    data = strict_json(text)
    assert data == {
        "ok": True,
        # 15,910 characters of the JSON text: 15,911 escaped, plus the 89 of the rest, is the 16,000 of max_chars
        "result": '"' + "x" * 15_909,
        "truncated": True,
        "result_chars": size + 2,
        "dropped_chars": size + 2 - 15_910,
    }
    assert len(text) == 16_000
    small = strict_json(render_observation(many, max_chars=1_000))
    assert (small["truncated"], small["result_chars"]) == (True, 6_388_891)
    assert small["dropped_chars"] == 6_388_891 - len(small["result"])
    # max_chars caps the whole observation as the model receives it, escapes included.
    assert 990 <= len(render_observation(many, max_chars=1_000)) <= 1_000


# -- KeyboardInterrupt --------------------------------------------------------------------------------


async def test_keyboard_interrupt_propagates_as_itself_and_every_sibling_finally_runs(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read", resource="r")

    @registry.tool
    async def interrupt() -> None:
        await trio.sleep(1)
        raise KeyboardInterrupt

    turn = Executor(registry, limits={"r": 2}, schedule="eager").turn(
        [
            ToolCall(id="k", tool="interrupt"),
            call("running", seconds=5),
            call("also", seconds=5),
            call("waiting", seconds=1),  # never gets a slot of "r"
        ]
    )
    start = trio.current_time()
    tasks_before = task_count()
    with pytest.raises(KeyboardInterrupt) as info:
        await turn.run()
    assert type(info.value) is KeyboardInterrupt
    assert trio.current_time() == start + 1.0
    assert log.times("finally") == {"running": start + 1.0, "also": start + 1.0}
    assert summary(turn.result, start) == [
        ("k", Status.CANCELLED, ErrorCode.CANCELLED, 1.0),
        ("running", Status.CANCELLED, ErrorCode.CANCELLED, 1.0),
        ("also", Status.CANCELLED, ErrorCode.CANCELLED, 1.0),
        ("waiting", Status.SKIPPED, ErrorCode.CANCELLED, 1.0),
    ]
    assert task_count() == tasks_before


async def test_keyboard_interrupt_in_a_sync_tool_and_in_a_stream_propagates_as_itself(no_leaks: None) -> None:
    registry = Registry()

    def interrupt() -> None:
        raise KeyboardInterrupt

    registry.add(interrupt)
    with pytest.raises(KeyboardInterrupt) as info:
        await Executor(registry).run([ToolCall(id="k", tool="interrupt")])
    assert type(info.value) is KeyboardInterrupt

    async def stream() -> None:
        async with Executor(registry).stream([ToolCall(id="k", tool="interrupt")]) as outcomes:
            async for _ in outcomes:
                pass  # pragma: no cover - nothing is decided before the interrupt

    async def open_turn() -> None:
        async with Executor(registry).open_turn() as turn:
            turn.submit(ToolCall(id="k", tool="interrupt"))

    for consume in (stream, open_turn):
        with pytest.raises(KeyboardInterrupt) as info:
            await consume()
        assert type(info.value) is KeyboardInterrupt


# -- a tool runs a nested turn on the same executor -----------------------------------------------------------


class Gauge:
    """Counts calls running at once, per resource."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total = 0
        self.peak_total = 0

    async def hold(self, resource: str, seconds: float) -> None:
        self.now[resource] = self.now.get(resource, 0) + 1
        self.total += 1
        self.peak[resource] = max(self.peak.get(resource, 0), self.now[resource])
        self.peak_total = max(self.peak_total, self.total)
        try:
            await trio.sleep(seconds)
        finally:
            self.now[resource] -= 1
            self.total -= 1


def nested_registry(
    gauge: Gauge, executors: list[Executor], *, parent_timeout: float | None
) -> tuple[Registry, list[Turn]]:
    """Leaf tools on ``leafs``, and parents that run a nested turn of leafs on ``executors[0]``.

    Returns the registry and the list where the ``fan_out_on_leafs`` parents put their nested turns.
    """
    registry = Registry(default_side_effect="read")
    nested: list[Turn] = []

    @registry.tool(resource="leafs")
    async def leaf(n: int) -> int:
        await gauge.hold("leafs", 1)
        return n

    @registry.tool(resource="parents", timeout=parent_timeout)
    async def fan_out(k: int) -> list[object]:
        result = await executors[0].run([ToolCall(id=f"n{i}", tool="leaf", arguments={"n": i}) for i in range(k)])
        return [o.value if o.ok else o.error_code for o in result]

    @registry.tool(resource="leafs", timeout=parent_timeout)
    async def fan_out_on_leafs(k: int) -> list[object]:
        turn = executors[0].turn([ToolCall(id=f"n{i}", tool="leaf", arguments={"n": i}) for i in range(k)])
        try:
            await turn.run()
        finally:
            nested.append(turn)
        return [o.value for o in turn.result]

    return registry, nested


async def test_a_tool_can_run_a_nested_turn_on_the_same_executor_and_caps_still_hold(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    gauge, executors = Gauge(), list[Executor]()
    registry, _ = nested_registry(gauge, executors, parent_timeout=None)
    executor = Executor(registry, limits={"leafs": 2, "parents": 1}, deterministic=True)
    executors.append(executor)
    start = trio.current_time()
    result = await executor.run(
        [
            ToolCall(id="p", tool="fan_out", arguments={"k": 4}),
            ToolCall(id="l1", tool="leaf", arguments={"n": 10}),
            ToolCall(id="l2", tool="leaf", arguments={"n": 11}),
        ]
    )
    # The outer turn's leafs rank first (earlier turn): l1, l2 at [0, 1]; the nested
    # turn's four leafs then run two at a time, [1, 2] and [2, 3].
    assert summary(result, start) == [
        ("p", Status.OK, None, 3.0),
        ("l1", Status.OK, None, 1.0),
        ("l2", Status.OK, None, 1.0),
    ]
    assert result[0].value == [0, 1, 2, 3]
    assert gauge.peak == {"leafs": 2}
    assert executor.statistics().resources["leafs"].held == 0
    assert executor.statistics().resources["parents"].held == 0


async def test_a_nested_turn_under_a_global_cap_shares_it_with_its_parent(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """With ``max_concurrency=2`` the parent holds one global slot while it waits, leaving one for its children."""
    gauge, executors = Gauge(), list[Executor]()
    registry, _ = nested_registry(gauge, executors, parent_timeout=None)
    executor = Executor(registry, max_concurrency=2)
    executors.append(executor)
    start = trio.current_time()
    (o,) = await executor.run([ToolCall(id="p", tool="fan_out", arguments={"k": 3})])
    assert (o.status, o.value, o.finished_at) == (Status.OK, [0, 1, 2], start + 3.0)
    assert gauge.peak_total == 1  # the leafs ran one at a time beside their waiting parent


async def test_a_nested_turn_waiting_for_capacity_its_parent_holds_deadlocks_until_a_deadline(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """A parent call holding the only slot of ``leafs`` runs a nested turn that needs a slot of ``leafs``.

    This deadlocks: the nested calls wait for the slot, the parent waits for
    them, and the executor does not detect it. Only a deadline ends it: here
    the parent's own 5 s timeout, at which the nested turn is cancelled from
    outside (its calls ``skipped`` with code ``cancelled``) and the parent
    ends ``timeout``. Nested turns must not need capacity that their
    ancestors hold: use another resource, another executor, or a timeout.
    """
    gauge, executors = Gauge(), list[Executor]()
    registry, nested_turns = nested_registry(gauge, executors, parent_timeout=5.0)
    executor = Executor(registry, limits={"leafs": 1})
    executors.append(executor)
    start = trio.current_time()
    (o,) = await executor.run([ToolCall(id="p", tool="fan_out_on_leafs", arguments={"k": 2})])
    assert (o.status, o.error_code, o.finished_at) == (Status.TIMEOUT, ErrorCode.TIMEOUT, start + 5.0)
    (nested,) = nested_turns
    assert summary(nested.result, start) == [
        ("n0", Status.SKIPPED, ErrorCode.CANCELLED, 5.0),
        ("n1", Status.SKIPPED, ErrorCode.CANCELLED, 5.0),
    ]
    assert gauge.peak == {}  # no leaf ever ran
    assert executor.statistics().resources["leafs"].held == 0


async def test_a_nested_deadlock_without_a_timeout_waits_for_the_caller(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    gauge, executors = Gauge(), list[Executor]()
    registry, nested_turns = nested_registry(gauge, executors, parent_timeout=None)
    executor = Executor(registry, limits={"leafs": 1})
    executors.append(executor)
    turn = executor.turn([ToolCall(id="p", tool="fan_out_on_leafs", arguments={"k": 1})])
    start = trio.current_time()
    with trio.move_on_after(1000) as scope:
        await turn.run()
    assert scope.cancelled_caught
    assert summary(turn.result, start) == [("p", Status.CANCELLED, ErrorCode.CANCELLED, 1000.0)]
    (nested,) = nested_turns
    assert summary(nested.result, start) == [("n0", Status.SKIPPED, ErrorCode.CANCELLED, 1000.0)]


# -- the turn's budget expires during a retry ------------------------------------------------------------------


def flaky(registry: Registry, *, fails: int, seconds: float, retry: Retry, resource: str | None = None) -> list[float]:
    starts: list[float] = []

    async def tool() -> str:
        starts.append(trio.current_time())
        await trio.sleep(seconds)
        if len(starts) <= fails:
            raise Retryable(f"attempt {len(starts)} failed")
        return "done"

    registry.add(tool, name="flaky", retry=retry, resource=resource)
    return starts


async def test_a_budget_that_would_expire_during_the_backoff_ends_the_call_with_its_failure(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Attempt 1 fails at 1; the next would start at 3, past the 2.5 s budget: no retry, ``error`` at 1."""
    registry = Registry(default_side_effect="read")
    starts = flaky(registry, fails=5, seconds=1, retry=Retry(attempts=3, backoff=2.0, jitter=0.0))
    start = trio.current_time()
    (o,) = await Executor(registry, budget=2.5).run([ToolCall(id="f", tool="flaky")])
    assert (o.status, o.error_code, o.attempts, o.finished_at) == (Status.ERROR, ErrorCode.TOOL_ERROR, 1, start + 1)
    assert o.error == "Retryable: attempt 1 failed"
    assert [t - start for t in starts] == [0.0]


async def test_a_budget_expiring_while_a_retry_waits_for_capacity_cancels_the_call(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Attempt 1 fails at 1 and releases the slot; ``other`` takes it until 4; the retry waits from 1.5.

    At the 3 s deadline the retry is still waiting: the call is ``cancelled``
    (it had started) with ``budget_exceeded``, after 1 attempt.
    """
    registry, log = Registry(default_side_effect="read"), Log()
    sleeper(registry, log, "read", resource="r")
    starts = flaky(registry, fails=5, seconds=1, retry=Retry(attempts=3, backoff=0.5, jitter=0.0), resource="r")
    start = trio.current_time()
    result = await Executor(registry, limits={"r": 1}, budget=3.0).run(
        [ToolCall(id="f", tool="flaky"), call("other", seconds=3)]
    )
    assert summary(result, start) == [
        ("f", Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED, 3.0),
        ("other", Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED, 3.0),
    ]
    assert (result[0].attempts, result[0].started_at) == (1, start)
    assert log.times("start") == {"other": start + 1.0}
    assert [t - start for t in starts] == [0.0]


async def test_a_budget_expiring_during_a_retry_attempt_cancels_it(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Attempts [0, 1] and [1.5, 2.5] fail; attempt 3 starts at 3.5 and is running at the 4 s deadline."""
    registry = Registry(default_side_effect="read")
    starts = flaky(registry, fails=5, seconds=1, retry=Retry(attempts=3, backoff=0.5, jitter=0.0))
    start = trio.current_time()
    (o,) = await Executor(registry, budget=4.0).run([ToolCall(id="f", tool="flaky")])
    assert (o.status, o.error_code, o.attempts) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED, 3)
    assert (o.finished_at, o.latency_ms) == (start + 4.0, 4000.0)
    assert o.error == "stopped: the turn's time budget ran out"
    assert [t - start for t in starts] == [0.0, 1.5, 3.5]


# -- outer cancellation, in each phase of a turn ----------------------------------------------------------------


async def test_outer_cancellation_before_the_run_planning_is_synchronous(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Planning cannot be cancelled: it is pure and synchronous, with no checkpoint.

    ``Executor.turn`` plans in a cancelled scope without raising; the
    cancellation is seen by ``run``: ``Cancelled`` propagates as itself, no
    tool is entered (not even up to its first checkpoint, async or sync),
    every call is ``skipped`` with code ``cancelled`` at the instant of the
    run, calls rejected by planning keep their verdict, and no task is left.
    """
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    entered: list[str] = []

    def sync_read(tag: str) -> str:
        entered.append(tag)
        return tag

    registry.add(sync_read)
    executor = Executor(registry)
    start = trio.current_time()
    caught: list[BaseException] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        turn = executor.turn(
            [
                call("a", seconds=1),
                call("b", seconds=1, value="$a"),
                ToolCall(id="s", tool="sync_read", arguments={"tag": "s"}),
                ToolCall(id="x", tool="nope"),
            ]
        )
        assert [pc.call.id for pc in turn.plan.calls] == ["a", "b", "s", "x"]
        try:
            await turn.run()
        except trio.Cancelled as exc:
            caught.append(exc)
            raise
    assert [type(e) for e in caught] == [trio.Cancelled]
    assert trio.current_time() == start
    assert summary(turn.result, start) == [
        ("a", Status.SKIPPED, ErrorCode.CANCELLED, 0.0),
        ("b", Status.SKIPPED, ErrorCode.CANCELLED, 0.0),
        ("s", Status.SKIPPED, ErrorCode.CANCELLED, 0.0),
        ("x", Status.REJECTED, ErrorCode.UNKNOWN_TOOL, 0.0),  # decided by planning
    ]
    assert [(o.attempts, o.started_at) for o in turn.result] == [(0, None)] * 4
    assert (log.events, entered) == ([], [])


async def test_outer_cancellation_while_calls_wait_for_capacity_and_run(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Cancelled at 2: one call running, one waiting for the only slot of its resource.

    (A call waiting for a dependency that gets cancelled: see
    ``test_a_dependent_of_a_call_cancelled_with_the_turn_is_skipped_with_the_turns_cause``.)
    """
    registry, log = Registry(), Log()
    sleeper(registry, log, "read", resource="r")
    executor = Executor(registry, limits={"r": 1}, schedule="eager")
    turn = executor.turn([call("running", seconds=5), call("waiting", seconds=1)])
    start = trio.current_time()
    with trio.move_on_after(2) as scope:
        await turn.run()
    assert scope.cancelled_caught
    assert summary(turn.result, start) == [
        ("running", Status.CANCELLED, ErrorCode.CANCELLED, 2.0),
        ("waiting", Status.SKIPPED, ErrorCode.CANCELLED, 2.0),
    ]
    running, waiting = turn.result
    assert (running.attempts, running.started_at, waiting.attempts, waiting.started_at) == (1, start, 0, None)
    assert running.error == "stopped: the turn was cancelled by its caller"
    assert waiting.error == "not started: the turn was cancelled by its caller"
    assert log.times("finally") == {"running": start + 2.0}
    assert executor_idle(executor)


def executor_idle(executor: Executor) -> bool:
    return all(resource.held == 0 for resource in executor.statistics().resources.values())


async def test_outer_cancellation_during_a_retry_backoff(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Attempt 1 fails at 1; the backoff lasts until 4; the caller cancels at 2."""
    registry = Registry(default_side_effect="read")
    starts = flaky(registry, fails=5, seconds=1, retry=Retry(attempts=3, backoff=3.0, jitter=0.0), resource="r")
    executor = Executor(registry, limits={"r": 1})
    turn = executor.turn([ToolCall(id="f", tool="flaky")])
    start = trio.current_time()
    with trio.move_on_after(2) as scope:
        await turn.run()
    assert scope.cancelled_caught
    (o,) = turn.result
    assert (o.status, o.error_code, o.attempts, o.started_at, o.finished_at) == (
        Status.CANCELLED,
        ErrorCode.CANCELLED,
        1,
        start,
        start + 2.0,
    )
    assert [t - start for t in starts] == [0.0]
    assert executor_idle(executor)


async def test_outer_cancellation_while_streaming(autojump_clock: trio.testing.MockClock, no_leaks: None) -> None:
    """The caller's scope is cancelled at 2 while it waits for the stream's next outcome."""
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    seen: list[tuple[str, float]] = []
    caught: list[BaseException] = []
    start = trio.current_time()
    with trio.move_on_after(2) as scope:
        try:
            async with Executor(registry).stream([call("a", seconds=1), call("b", seconds=5)]) as outcomes:
                async for outcome in outcomes:
                    seen.append((outcome.call_id, trio.current_time() - start))
        except trio.Cancelled as exc:
            caught.append(exc)
            raise
    assert scope.cancelled_caught
    assert [type(e) for e in caught] == [trio.Cancelled]
    assert seen == [("a", 1.0)]
    assert summary(outcomes.turn.result, start) == [
        ("a", Status.OK, None, 1.0),
        ("b", Status.CANCELLED, ErrorCode.CANCELLED, 2.0),
    ]
    assert log.times("finally") == {"a": start + 1.0, "b": start + 2.0}


async def test_outer_cancellation_of_an_open_turn(autojump_clock: trio.testing.MockClock, no_leaks: None) -> None:
    """Cancelled at 2: a call running, one waiting for a reference that has not arrived."""
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    caught: list[BaseException] = []
    start = trio.current_time()
    with trio.move_on_after(2) as scope:
        try:
            async with Executor(registry).open_turn() as turn:
                turn.submit(call("a", seconds=1))
                turn.submit(call("b", seconds=5))
                turn.submit(call("c", seconds=1, value="$later"))
                await trio.sleep(10)
        except trio.Cancelled as exc:
            caught.append(exc)
            raise
    assert scope.cancelled_caught
    assert [type(e) for e in caught] == [trio.Cancelled]
    assert summary(turn.result, start) == [
        ("a", Status.OK, None, 1.0),
        ("b", Status.CANCELLED, ErrorCode.CANCELLED, 2.0),
        ("c", Status.SKIPPED, ErrorCode.CANCELLED, 2.0),
    ]


async def test_outer_cancellation_leaves_the_executor_usable(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read", resource="r")
    executor = Executor(registry, limits={"r": 1}, policy=BestEffort())
    with trio.move_on_after(0.5):
        await executor.run([call("a", seconds=1), call("b", seconds=1)])
    start = trio.current_time()
    result = await executor.run([call("c", seconds=1), call("d", seconds=1)])
    assert summary(result, start) == [("c", Status.OK, None, 1.0), ("d", Status.OK, None, 2.0)]


# -- hostile input and values (regressions: each one crashed or broke the contract before 16ec337) ----------------


def nested_list(depth: int, leaf: object) -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def deep_registry() -> Registry:
    registry = Registry()

    @registry.tool(parameters={"type": "object"})
    async def echo(**arguments: Any) -> object:
        return arguments

    @registry.tool
    async def text(x: str) -> str:
        return x

    @registry.tool(side_effect="write", key="k", parameters={"type": "object"})
    async def write(**arguments: Any) -> str:
        return "written"

    @registry.tool(parameters={"type": "object", "properties": {"x": {"type": "array", "uniqueItems": True}}})
    async def unique(**arguments: Any) -> str:
        return "unique"

    @registry.tool
    async def deep() -> object:
        return nested_list(10_000, 1)

    return registry


DEEP_TEXT = 600  # json.loads parses ~990 levels; substituting references raised RecursionError from ~500
TOO_DEEP = (
    Status.REJECTED,
    ErrorCode.INVALID_ARGUMENTS,
    "arguments nest deeper than 100 levels; send a flatter object",
)
DEEP_CASES: dict[str, tuple[list[ToolCall], list[tuple[Status, ErrorCode | None, str | None]]]] = {
    "model JSON text with an escaped $$": (
        [ToolCall(id="a", tool="echo", arguments='{"x":' + "[" * DEEP_TEXT + '"$$5"' + "]" * DEEP_TEXT + "}")],
        [TOO_DEEP],
    ),
    "model JSON text with a reference": (
        [
            ToolCall(id="r", tool="echo", arguments={}),
            ToolCall(id="a", tool="echo", arguments='{"x":' + '{"y":' * DEEP_TEXT + '"$r"' + "}" * DEEP_TEXT + "}"),
        ],
        [(Status.OK, None, None), TOO_DEEP],
    ),
    "a wrong type, 10,000 levels (its message quoted the value's repr)": (
        [ToolCall(id="a", tool="text", arguments={"x": nested_list(10_000, 1)})],
        [TOO_DEEP],
    ),
    "uniqueItems over deep items (compared them recursively)": (
        [ToolCall(id="a", tool="unique", arguments={"x": [nested_list(10_000, 1), nested_list(10_000, 1)]})],
        [TOO_DEEP],
    ),
    "a write's idempotency key (serialized the arguments)": (
        [ToolCall(id="a", tool="write", arguments={"x": nested_list(10_000, 1)})],
        [TOO_DEEP],
    ),
    "a reference to a deep result": (
        [ToolCall(id="d", tool="deep"), ToolCall(id="a", tool="echo", arguments={"x": "$d"})],
        [
            (Status.OK, None, None),
            (Status.REJECTED, ErrorCode.BAD_REFERENCE, "'$d': the value nests deeper than 100 levels"),
        ],
    ),
}


@pytest.mark.parametrize("case", list(DEEP_CASES))
async def test_deep_nesting_is_rejected_and_never_raises_recursion_error(
    case: str, autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    calls, expected = DEEP_CASES[case]
    registry = deep_registry()
    plan = Plan.build(registry, calls)
    assert isinstance(plan.render(), str)
    result = await Executor(registry).run(calls)
    assert [(o.status, o.error_code, o.error) for o in result] == expected
    for o in result:
        strict_json(render_observation(o))


def cyclic_list() -> list[object]:
    cycle: list[object] = []
    cycle.append(cycle)
    return cycle


RESULTS: dict[str, tuple[Callable[[], object], object]] = {
    "nan": (lambda: float("nan"), "nan"),
    "infinity": (lambda: {"x": float("-inf")}, {"x": "-inf"}),
    "tuple keys": (lambda: {(1, 2): "a"}, {"(1, 2)": "a"}),
    "a cycle": (cyclic_list, ["<cycle>"]),
    "10,000 levels": (lambda: nested_list(10_000, 1), nested_list(100, "<nested too deep>")),
}


@pytest.mark.parametrize("kind", list(RESULTS))
async def test_every_observation_is_standard_json(
    kind: str, autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Before: ``NaN`` (not JSON) for non-finite floats; TypeError, ValueError or RecursionError for the rest."""
    registry = Registry()
    make, shown = RESULTS[kind]

    @registry.tool
    async def produce() -> object:
        return make()

    (o,) = await Executor(registry).run([ToolCall(id="p", tool="produce")])
    assert o.status is Status.OK
    assert strict_json(render_observation(o)) == {"ok": True, "result": shown}


class CodeTrap:
    """A result whose attribute lookups and pickling hooks record that they ran."""

    def __init__(self, touched: list[str]) -> None:
        self.touched = touched

    def __getattr__(self, name: str) -> Any:
        self.touched.append(f"getattr {name}")
        raise AttributeError(name)

    def __reduce_ex__(self, protocol: Any) -> Any:
        self.touched.append("reduce_ex")
        return (CodeTrap, (self.touched,))


async def test_a_reference_never_runs_code_of_the_referenced_value(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Before: ``copy.deepcopy`` called ``__getattr__('__deepcopy__')`` and ``__reduce_ex__(4)``.

    Now plain containers are copied and anything else is passed on as itself.
    """
    touched: list[str] = []
    registry = Registry()

    @registry.tool
    async def trap() -> object:
        return {"inner": CodeTrap(touched), "n": 1}

    @registry.tool(parameters={"type": "object"})
    async def echo(**arguments: Any) -> object:
        return arguments

    source, whole, part = await Executor(registry).run(
        [
            ToolCall(id="t", tool="trap"),
            ToolCall(id="a", tool="echo", arguments={"x": "$t"}),
            ToolCall(id="b", tool="echo", arguments={"x": "$t.inner"}),
        ]
    )
    assert [o.status for o in (source, whole, part)] == [Status.OK, Status.OK, Status.OK]
    assert touched == []
    assert whole.value["x"] is not source.value  # the dict is copied ...
    assert whole.value["x"]["inner"] is source.value["inner"] is part.value["x"]  # ... the object is not


async def test_a_reference_to_a_value_that_cannot_be_copied_passes_it_on(
    autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Before: ``TypeError: cannot pickle '_thread.lock' object`` escaped ``run``, and the
    referencing call was reported ``skipped`` (``cancelled``)."""
    registry = Registry()
    lock = threading.Lock()

    @registry.tool
    async def handle() -> object:
        return {"lock": lock, "n": 1}

    @registry.tool(parameters={"type": "object"})
    async def echo(**arguments: Any) -> object:
        return arguments

    handle_o, echo_o = await Executor(registry).run(
        [ToolCall(id="h", tool="handle"), ToolCall(id="e", tool="echo", arguments={"x": "$h"})]
    )
    assert (handle_o.status, echo_o.status) == (Status.OK, Status.OK)
    assert echo_o.value == {"x": {"lock": lock, "n": 1}}
    assert echo_o.value["x"]["lock"] is lock


@pytest.mark.parametrize("how", ["budget", "caller", "keyboard interrupt"])
async def test_a_dependent_of_a_call_cancelled_with_the_turn_is_skipped_with_the_turns_cause(
    how: str, autojump_clock: trio.testing.MockClock, no_leaks: None
) -> None:
    """Before: under ``eager`` the dependent was ``dependency_failed`` (its dependency was decided
    ``cancelled`` first), under ``waves`` it had the turn's cause."""
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")

    @registry.tool
    async def interrupt() -> None:
        await trio.sleep(2)
        raise KeyboardInterrupt

    calls = [call("long", seconds=5), call("after", seconds=1, value="$long")]
    if how == "keyboard interrupt":
        calls.append(ToolCall(id="k", tool="interrupt"))
    expected = ErrorCode.BUDGET_EXCEEDED if how == "budget" else ErrorCode.CANCELLED
    turn = Executor(registry, schedule="eager", budget=2.0 if how == "budget" else None).turn(calls)
    start = trio.current_time()
    with trio.move_on_after(2):
        if how == "keyboard interrupt":
            with pytest.raises(KeyboardInterrupt):
                await turn.run()
        else:
            await turn.run()
    assert summary(turn.result, start)[:2] == [
        ("long", Status.CANCELLED, expected, 2.0),
        ("after", Status.SKIPPED, expected, 2.0),
    ]


@pytest.mark.parametrize("kind", ["one shared id", "references to unknown ids"])
def test_planning_messages_stay_short_in_a_large_turn(kind: str) -> None:
    """Before: each message listed every other call, 59-89 KB each in a turn of 10,000 calls
    (peak RSS 1.3-2.4 GB, ~16 s to plan and run)."""
    registry = Registry()

    @registry.tool(parameters={"type": "object"})
    async def echo(**arguments: Any) -> object:
        return arguments

    n = 1_000
    if kind == "one shared id":
        calls = [ToolCall(id="same", tool="echo") for _ in range(n)]
        first = (
            "call id 'same' is used by the calls at positions 0, 1, 2, 3, 4, 5, 6, 7 and 992 more; "
            "ids must be unique within a turn"
        )
    else:
        calls = [ToolCall(id=f"call_{i:06d}", tool="echo", arguments={"x": "$missing"}) for i in range(n)]
        others = ", ".join(f"'call_{i:06d}'" for i in range(1, 9))
        first = (
            f"'$missing' refers to call 'missing', which is not in this turn (other ids: {others} and 991 more); "
            "write '$$' for a literal '$'"
        )
    plan = Plan.build(registry, calls)
    messages = [pc.verdict.message for pc in plan.calls if pc.verdict is not None]
    assert len(messages) == n
    assert messages[0] == first
    assert max(len(m) for m in messages) < 300


def deep_payload(depth: int) -> object:
    return nested_list(depth, {"type": "tool_use"})


PROVIDER_CASES: dict[str, tuple[Callable[[], object], str]] = {
    "responses item with a list type": (
        lambda: openai_format.calls_from_response({"output": [{"type": []}]}),
        "output[0] has type [], which is not a call trio_toolpar runs or answers",
    ),
    "responses item with an object type": (
        lambda: openai_format.calls_from_response([{"type": {}}]),
        "output[0] has type {}, which is not a call trio_toolpar runs or answers",
    ),
    "deep chat message": (
        lambda: openai_format.calls_from_message(
            {"tool_calls": [{"function": {"name": "x", "arguments": nested_list(5_000, 1)}}]}
        ),
        "the payload nests deeper than",
    ),
    "deep anthropic input": (
        lambda: anthropic_format.calls_from_message(
            {"content": [{"type": "tool_use", "id": "a", "name": "x", "input": deep_payload(5_000)}]}
        ),
        "the payload nests deeper than",
    ),
    "deep anthropic message": (
        lambda: anthropic_format.calls_from_message(deep_payload(5_000)),
        "the payload nests deeper than",
    ),
    "deep chat chunk": (lambda: openai_format.ChatStream().feed(deep_payload(5_000)), "the payload nests deeper than"),
}


@pytest.mark.parametrize("case", list(PROVIDER_CASES))
def test_provider_parsers_raise_format_error_on_unhashable_types_and_deep_payloads(case: str) -> None:
    """Before: ``TypeError: unhashable type`` and ``RecursionError``."""
    parse, message = PROVIDER_CASES[case]
    with pytest.raises(FormatError, match=re.escape(message)):
        parse()


async def test_a_requested_traceback_is_redacted_too(autojump_clock: trio.testing.MockClock, no_leaks: None) -> None:
    """Before: ``Executor(redact=...)`` cleaned ``outcome.error`` but ``render_observation(traceback=True)``
    formatted the raw exception."""
    secret = "sk-live-4f9a8b7c6d5e"
    registry = Registry()

    @registry.tool
    async def connect() -> None:
        raise RuntimeError(f"login failed for key={secret}")

    executor = Executor(registry, redact=lambda text: text.replace(secret, "[redacted]"))
    (o,) = await executor.run([ToolCall(id="c", tool="connect")])
    assert o.error == "RuntimeError: login failed for key=[redacted]"
    text = render_observation(o, traceback=True)
    assert "Traceback (most recent call last)" in text
    assert "login failed for key=[redacted]" in json.loads(text)["traceback"]
    assert secret not in text
