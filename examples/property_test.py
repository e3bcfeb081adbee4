"""The property from docs/testing.md, run by tests/test_examples.py (with pytest, and as a script)."""

import trio.testing
from hypothesis import HealthCheck, given, settings

from trio_toolpar.testing import Oracle, Recorder, TurnSpec, turns


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(turn=turns(max_calls=8, failures=False, budgets=False))
async def test_eager_reaches_the_critical_path(
    turn: TurnSpec,
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    result = await turn.executor(recorder, schedule="eager").run(turn.tool_calls())
    for resource, cap in turn.limits.items():
        assert recorder.max_overlap_on(resource) <= cap
    if not turn.limits and turn.max_concurrency is None:
        assert result.elapsed == Oracle(turn).critical_path()


if __name__ == "__main__":
    # `python examples/property_test.py` runs the property without pytest: each example on a fresh MockClock.
    import functools
    from typing import Any

    checked = 0

    def run_one(*, turn: TurnSpec, autojump_clock: object) -> None:
        global checked
        clock = trio.testing.MockClock(autojump_threshold=0)
        inner = functools.partial(property_of_one_turn, turn=turn, autojump_clock=clock)
        trio.run(inner, clock=clock)
        checked += 1

    test: Any = test_eager_reaches_the_critical_path  # @given's handle, .hypothesis, is not in its type
    property_of_one_turn = test.hypothesis.inner_test
    test.hypothesis.inner_test = run_one
    test(autojump_clock=None)
    print(
        f"checked {checked} random turns: no resource ran more calls at once than its cap, "
        "and every uncapped eager turn took exactly its critical path"
    )
