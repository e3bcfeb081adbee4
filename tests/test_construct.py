"""`fast_constructor` builds exactly what the class's own ``__init__`` builds, and refuses what it cannot."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Outcome, Status
from trio_toolpar._values._construct import fast_constructor

make_outcome = fast_constructor(Outcome)

_OPTIONAL_FLOAT = st.none() | st.floats(allow_nan=False)


@given(
    call_id=st.text(),
    status=st.sampled_from(Status),
    value=st.none() | st.integers() | st.text() | st.lists(st.integers()),
    error_code=st.none() | st.sampled_from(ErrorCode),
    error=st.none() | st.text(),
    attempts=st.integers(min_value=0),
    started_at=_OPTIONAL_FLOAT,
    wave=st.none() | st.integers(min_value=0),
    exception=st.none() | st.builds(ValueError, st.text()),
    omit=st.sets(st.sampled_from(["value", "error_code", "error", "attempts", "started_at", "wave", "exception"])),
)
def test_the_fast_constructor_builds_what_init_builds(omit: set[str], **fields: Any) -> None:
    kwargs = {"tool": "echo", **{k: v for k, v in fields.items() if k not in omit}}
    fast, slow = make_outcome(**kwargs), Outcome(**kwargs)
    assert type(fast) is Outcome
    for field in attrs.fields(Outcome):  # every field, those left out of eq too
        assert getattr(fast, field.name) is getattr(slow, field.name)


def test_the_value_stays_frozen() -> None:
    outcome = make_outcome(call_id="c1", tool="echo", status=Status.OK)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        outcome.status = Status.ERROR  # type: ignore[misc]


def test_required_fields_stay_required() -> None:
    with pytest.raises(TypeError, match="status"):
        make_outcome(call_id="c1", tool="echo")


@attrs.frozen
class _Validated:
    n: int = attrs.field(validator=attrs.validators.instance_of(int))


@attrs.frozen
class _Converted:
    n: int = attrs.field(converter=int)


@attrs.frozen
class _Factory:
    items: list[int] = attrs.field(factory=list)


@attrs.frozen
class _PostInit:
    n: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen(slots=False)
class _NoSlots:
    n: int


@pytest.mark.parametrize("cls", [_Validated, _Converted, _Factory, _PostInit, _NoSlots])
def test_a_class_whose_init_does_more_is_refused(cls: type[object]) -> None:
    with pytest.raises(TypeError, match=cls.__name__):
        fast_constructor(cls)
