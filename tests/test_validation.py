"""Every public constructor and option: a wrong type raises TypeError, a wrong value ValueError, naming both.

Each row of `CASES` is one argument of one public callable: how to pass it a
value, and the rule it follows. Hypothesis draws values of other types and
values of the right type out of range; each must raise exactly the one error
the rule says (never both: ``RegistrationError`` is a ``TypeError``, so a
value error raised as one would fail here), with a message that names the
argument and shows the value.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import attrs
import coredis
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import (
    USE_EXECUTOR_DEFAULT,
    Approval,
    BestEffort,
    Executor,
    FailFast,
    Hedge,
    Outcome,
    RaceRules,
    Rate,
    Registry,
    Retry,
    Status,
    render_observation,
)
from trio_toolpar._values._validate import check_number, check_type, check_whole_number
from trio_toolpar.agent import RequestRetry, ScriptedModel, run_agent
from trio_toolpar.redis import RedisLimits

CLIENT: coredis.Redis[Any] = coredis.Redis(host="127.0.0.1", port=1)  # never entered


@attrs.frozen
class Rule:
    """What an argument accepts: values of ``kinds`` (never ``bool`` unless listed), and which of them are right."""

    kinds: tuple[type, ...]
    wrong_values: st.SearchStrategy[Any] | None = None
    none: bool = False
    must: str = "must be"


def whole(minimum: int, *, none: bool = False) -> Rule:
    return Rule((int,), st.integers(max_value=minimum - 1), none=none, must=f"must be a whole number >= {minimum}")


def number(
    minimum: float = 0, *, above: bool = False, finite: bool = False, maximum: float = math.inf, none: bool = False
) -> Rule:
    low = st.floats(max_value=minimum, exclude_max=not above, allow_nan=False) | st.integers(
        max_value=math.floor(minimum) - (0 if above and minimum == math.floor(minimum) else 1)
    )
    wrong = low | st.just(math.nan) | st.just(-math.inf)
    if finite:
        wrong |= st.just(math.inf)
    if maximum < math.inf:
        wrong |= st.floats(min_value=maximum, exclude_min=True, allow_infinity=False)
    return Rule((int, float), wrong, none=none)


def choice(*choices: str, none: bool = False) -> Rule:
    return Rule((str,), st.text(max_size=8).filter(lambda s: s not in choices), none=none)


def kind(*kinds: type, none: bool = False) -> Rule:
    return Rule(kinds, None, none=none)


async def _noop() -> None: ...


def registry_with(**options: Any) -> Any:
    return Registry().add(_noop, side_effect="read", **options)


def run_agent_with(**options: Any) -> Any:
    async def main() -> None:
        await run_agent(ScriptedModel([]), Executor(Registry()), "hi", **options)

    return trio.run(main)


def turn_with(budget: object) -> Any:
    return Executor(Registry()).turn([], budget=budget)  # type: ignore[arg-type]


OUTCOME = Outcome(call_id="c", tool="t", status=Status.OK, value="x" * 50)

CASES: dict[str, tuple[Callable[[Any], object], Rule]] = {
    "thread_limit": (lambda v: Executor(Registry(), thread_limit=v), whole(1)),
    "max_concurrency": (lambda v: Executor(Registry(), max_concurrency=v), whole(1, none=True)),
    "limits['x']": (lambda v: Executor(Registry(), limits={"x": v}), whole(1)),
    "limits": (lambda v: Executor(Registry(), limits=v), kind(dict, none=True)),
    "rates['x']": (lambda v: Executor(Registry(), rates={"x": v}), kind(Rate)),
    "budget": (lambda v: Executor(Registry(), budget=v), number(0, none=True)),
    "turn budget": (turn_with, number(0, none=True)),
    "schedule": (lambda v: Executor(Registry(), schedule=v), choice("waves", "eager")),
    "policy": (lambda v: Executor(Registry(), policy=v), kind(BestEffort, FailFast, none=True)),
    "seed": (lambda v: Executor(Registry(), seed=v), kind(int, str, none=True)),
    "deterministic": (lambda v: Executor(Registry(), deterministic=v), kind(bool)),
    "redact": (lambda v: Executor(Registry(), redact=v), kind(type(len), none=True)),
    "approve": (lambda v: Executor(Registry(), approve=v), kind(type(len), none=True)),
    "instruments[0]": (lambda v: Executor(Registry(), instruments=[v]), kind()),
    "registry": (lambda v: Executor(v), kind(Registry)),
    "default_side_effect": (lambda v: Registry(default_side_effect=v), choice("none", "read", "write")),
    "side_effect": (lambda v: Registry().add(_noop, side_effect=v), choice("none", "read", "write", none=True)),
    "timeout": (lambda v: registry_with(timeout=v), number(0, above=True, none=True)),
    "weight": (lambda v: registry_with(weight=v), whole(1)),
    "resource": (lambda v: registry_with(resource=v), kind(str, none=True)),
    "idempotent": (lambda v: registry_with(idempotent=v), kind(bool, none=True)),
    "idempotency_key": (lambda v: registry_with(idempotency_key=v), kind(bool)),
    "abandon_on_cancel": (lambda v: registry_with(abandon_on_cancel=v), kind(bool)),
    "retry": (lambda v: registry_with(retry=v), kind(Retry, none=True)),
    "hedge": (lambda v: registry_with(hedge=v), kind(Hedge, none=True)),
    "name": (lambda v: registry_with(name=v), kind(str, none=True)),
    "Retry.attempts": (lambda v: Retry(attempts=v), whole(1)),
    "Retry.backoff": (lambda v: Retry(backoff=v), number(0)),
    "Retry.multiplier": (lambda v: Retry(multiplier=v), number(1, finite=True)),
    "Retry.max_backoff": (lambda v: Retry(max_backoff=v), number(0)),
    "Retry.jitter": (lambda v: Retry(jitter=v), number(0, maximum=1)),
    "Retry.retry_timeouts": (lambda v: Retry(retry_timeouts=v), kind(bool)),
    "Hedge.after": (lambda v: Hedge(after=v), number(0, above=True, finite=True)),
    "Hedge.copies": (lambda v: Hedge(after=1, copies=v), whole(1)),
    "Rate.per_second": (lambda v: Rate(per_second=v), number(0, above=True, finite=True)),
    "Rate.burst": (lambda v: Rate(per_second=1, burst=v), whole(1)),
    "RaceRules.keep": (lambda v: RaceRules(keep=v), whole(1)),
    "RaceRules.accept": (lambda v: RaceRules(accept=v), kind(type(len), none=True)),
    "BestEffort.retry": (lambda v: BestEffort(retry=v), kind(Retry, none=True)),
    "max_retries_per_turn": (lambda v: FailFast(max_retries_per_turn=v), whole(0, none=True)),
    "Approval.approved": (lambda v: Approval(approved=v), kind(bool)),
    "Approval.reason": (lambda v: Approval(approved=False, reason=v), kind(str, none=True)),
    "max_chars": (lambda v: render_observation(OUTCOME, max_chars=v), whole(29)),
    "RequestRetry.attempts": (lambda v: RequestRetry(attempts=v), whole(1)),
    "RequestRetry.max_retry_after": (lambda v: RequestRetry(max_retry_after=v), number(0)),
    "RequestRetry.jitter": (lambda v: RequestRetry(jitter=v), choice("equal", "full", "none")),
    "RequestRetry.seed": (lambda v: RequestRetry(seed=v), kind(int, str, none=True)),
    "max_turns": (lambda v: run_agent_with(max_turns=v), whole(1)),
    "run_agent budget": (lambda v: run_agent_with(budget=v), number(0, none=True)),
    "dispatch": (lambda v: run_agent_with(dispatch=v), choice("stream", "batch")),
    "observation_budget": (lambda v: ScriptedModel([], observation_budget=v), whole(0, none=True)),
    "namespace": (lambda v: RedisLimits(CLIENT, caps={"db": 1}, namespace=v), Rule((str,), st.just(""))),
    "lease": (lambda v: RedisLimits(CLIENT, caps={"db": 1}, lease=v), number(0, above=True, finite=True)),
    "on_unavailable": (lambda v: RedisLimits(CLIENT, caps={"db": 1}, on_unavailable=v), choice("fail", "local")),
    "caps['db']": (lambda v: RedisLimits(CLIENT, caps={"db": v}), whole(1)),
}

OTHER_TYPES = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.tuples(st.integers()),
    st.complex_numbers(),
    st.none(),
    st.builds(object),
)


def _named(case: str) -> str:
    """The name the message gives the argument (a registry's options are prefixed with the tool)."""
    return case.removeprefix("turn ").removeprefix("run_agent ")


def _fits(rule: Rule, value: object) -> bool:
    if value is None:
        return rule.none
    if isinstance(value, bool):
        return bool in rule.kinds
    if callable(value) and type(len) in rule.kinds:
        return True
    return isinstance(value, rule.kinds)


@functools.cache
def _misfits(case: str) -> st.SearchStrategy[object]:
    """`OTHER_TYPES` that ``case`` refuses: one strategy per case, built once (building one per example, and
    describing its filter, cost more than the example)."""
    return OTHER_TYPES.filter(functools.partial(_misfit, CASES[case][1]))


def _misfit(rule: Rule, value: object) -> bool:
    return not _fits(rule, value)


def _raises(build: Callable[[Any], object], value: object, error: type[Exception]) -> Exception:
    other = TypeError if error is ValueError else ValueError
    with pytest.raises(error) as caught:
        build(value)
    assert not isinstance(caught.value, other), f"{caught.value!r} is both a TypeError and a ValueError"
    return caught.value


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_a_value_of_the_wrong_type_is_a_type_error(case: str, data: st.DataObject) -> None:
    build = CASES[case][0]
    value = data.draw(_misfits(case), label="value")
    message = str(_raises(build, value, TypeError))
    assert _named(case) in message and "must be" in message, message


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][1].wrong_values is not None))
@given(data=st.data())
def test_a_value_of_the_right_type_out_of_range_is_a_value_error(case: str, data: st.DataObject) -> None:
    build, rule = CASES[case]
    assert rule.wrong_values is not None
    value = data.draw(rule.wrong_values, label="value")
    message = str(_raises(build, value, ValueError))
    assert _named(case) in message and rule.must in message, message
    assert message.endswith(f"not {value!r}"), message


def test_the_rows_cover_each_kind_of_rule() -> None:
    """The table is what the property tests walk: it holds whole numbers, numbers, choices and types."""
    rules = [rule for _, rule in CASES.values()]
    assert sum(r.wrong_values is None for r in rules) >= 15
    assert sum(r.kinds == (int,) for r in rules) >= 10
    assert sum(r.kinds == (int, float) for r in rules) >= 10
    assert sum(r.kinds == (str,) and r.wrong_values is not None for r in rules) >= 5


# -- the helper's messages ----------------------------------------------------------------------------


def test_messages_name_the_argument_say_the_rule_and_show_the_value() -> None:
    with pytest.raises(ValueError, match=r"^thread_limit must be a whole number >= 1, not 0$"):
        check_whole_number("thread_limit", 0)
    with pytest.raises(TypeError, match=r"^max_concurrency must be a whole number >= 1 or None, not True$"):
        check_whole_number("max_concurrency", True, allow_none=True)
    with pytest.raises(ValueError, match=r"^budget must be a non-negative number of seconds or None, not -1$"):
        check_number("budget", -1, minimum=0, unit="seconds", allow_none=True)
    with pytest.raises(ValueError, match=r"^Rate.per_second must be a positive, finite number, not inf$"):
        check_number("Rate.per_second", math.inf, minimum=0, above=True, finite=True)
    with pytest.raises(ValueError, match=r"^Retry.jitter must be a number from 0 to 1, not 1.5$"):
        check_number("Retry.jitter", 1.5, minimum=0, maximum=1)
    with pytest.raises(TypeError, match=r"^seed must be an int or a str or None, not 1.5$"):
        check_type("seed", 1.5, (int, str), expected="an int or a str", allow_none=True)


def test_a_value_that_cannot_be_shown_is_still_named() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

        def __str__(self) -> str:
            raise RuntimeError("no")

    with pytest.raises(TypeError, match=r"^weight must be a whole number >= 1, not <[\w.<>]*Hostile>$"):
        check_whole_number("weight", Hostile())
    with pytest.raises(ValueError, match=r"not <int of \d+ bits>$"):
        check_whole_number("weight", -(10**10000))
    with pytest.raises(TypeError, match=r"not 'xxxxx.*\.\.\.$"):
        check_whole_number("weight", "x" * 500)


def test_the_executor_default_is_not_a_budget() -> None:
    """USE_EXECUTOR_DEFAULT passes the budget check by being itself; anything else of its kind does not exist."""
    assert Executor(Registry(), budget=2).turn([], budget=USE_EXECUTOR_DEFAULT).budget == 2.0
