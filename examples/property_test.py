"""The property from docs/testing.md, run by tests/test_examples.py."""

import trio.testing
from hypothesis import HealthCheck, given, settings

from trio_toolpar.testing import Oracle, Recorder, TurnSpec, turns


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turn=turns(max_calls=8, failures=False, budgets=False))
async def test_eager_reaches_the_critical_path(turn: TurnSpec, autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    result = await turn.executor(recorder, schedule="eager").run(turn.tool_calls())
    for resource, cap in turn.limits.items():
        assert recorder.max_overlap_on(resource) <= cap
    if not turn.limits and turn.max_concurrency is None:
        assert result.elapsed == Oracle(turn).critical_path()
