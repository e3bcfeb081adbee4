"""Hypothesis strategies of hostile values: what a tool may return or raise, and what a model may send.

A turn must yield all its outcomes, and every observation must be JSON,
whatever the tools and the model do. These strategies generate the values
that break naive code: numbers JSON cannot hold, bytes, cycles, objects
whose own methods raise, nesting deeper than any limit, text UTF-8 cannot
encode, and argument text that is not quite JSON.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, NoReturn

import attrs

from ._hypothesis import st

__all__ = ["hostile_arguments", "hostile_exceptions", "hostile_values"]


def _refuse(*_: object) -> NoReturn:
    raise RuntimeError("hostile: this method raises")


class Unprintable:
    """``str()``, ``repr()`` and ``format()`` raise; hashable, so it can be a dict key."""

    __str__ = __repr__ = __format__ = _refuse


class Untouchable:
    """``str()``, ``repr()``, ``==``, ``hash()`` and ``bool()`` all raise."""

    __str__ = __repr__ = __eq__ = __ne__ = __hash__ = __bool__ = _refuse


class Classless:
    """Even asking for its ``__class__`` raises (``isinstance`` may ask)."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError


class UnprintableError(Exception):
    """An exception whose ``str()`` and ``repr()`` raise."""

    __str__ = __repr__ = _refuse


class UnprintableInt(int):
    """An ``int`` whose ``str()`` and ``repr()`` raise."""

    __str__ = __repr__ = _refuse


class UnprintableStr(str):
    """A ``str`` whose ``str()`` and ``repr()`` raise."""

    __str__ = __repr__ = _refuse


@attrs.define(eq=False)
class AttrsBox:
    """An attrs instance holding a hostile value (the converter unstructures it)."""

    value: Any
    label: str = "box"


@dataclasses.dataclass(eq=False)
class DataRecord:
    """A dataclass holding a hostile value."""

    value: Any
    note: str = "record"


def _huge_int(digits: int, sign: int, tail: int) -> int:
    magnitude: int = 10 ** (digits - 1) + tail
    return sign * magnitude


def _nest(depth: int, leaf: object, as_dict: bool) -> object:
    value = leaf
    for _ in range(depth):
        value = {"d": value} if as_dict else [value]
    return value


def _list_cycle(items: list[object]) -> list[object]:
    items.append(items)
    return items


def _dict_cycle(items: dict[str, object]) -> dict[str, object]:
    items["self"] = items
    return items


def _mutual_cycle(item: object) -> list[object]:
    outer: list[object] = [item]
    outer.append({"back": outer, "item": item})
    return outer


_surrogates = st.lists(st.integers(0xD800, 0xDFFF).map(chr), min_size=1, max_size=3)
_lone_surrogate_text = st.builds(
    lambda a, s, b: a + "".join(s) + b, st.text(max_size=5), _surrogates, st.text(max_size=5)
)
_huge_ints = st.builds(
    _huge_int, st.integers(1_000, 6_000), st.sampled_from((1, -1)), st.integers(0, 10**6)
)  # past 4,300 digits, Python's str() refuses them
_hashable_odd = st.one_of(
    st.integers(),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.builds(Unprintable),
    _lone_surrogate_text,
    st.frozensets(st.integers(), max_size=3),
)
_plain_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_leaves = st.one_of(
    _plain_json,
    _huge_ints,
    st.sampled_from((float("nan"), float("inf"), float("-inf"), -0.0, 5e-324)),
    st.binary(max_size=24),  # mostly invalid UTF-8
    st.text(max_size=8).map(str.encode),  # valid UTF-8
    st.binary(max_size=24).map(bytearray),
    st.sets(_hashable_odd, max_size=4),
    st.frozensets(st.integers() | st.text(max_size=4), max_size=4),
    _lone_surrogate_text,
    st.builds(Unprintable),
    st.builds(Untouchable),
    st.builds(Classless),
    st.builds(UnprintableError),
    st.builds(UnprintableInt, st.integers()),
    st.builds(UnprintableStr, st.text(max_size=6)),
    st.builds(ValueError, _lone_surrogate_text | st.builds(Unprintable)),
)


def _containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
        st.dictionaries(_hashable_odd, inner, max_size=3),  # keys JSON has no form for
        st.builds(_list_cycle, st.lists(inner, max_size=2)),
        st.builds(_dict_cycle, st.dictionaries(st.text(max_size=3), inner, max_size=2)),
        st.builds(_mutual_cycle, inner),
        st.builds(AttrsBox, inner),
        st.builds(DataRecord, inner),
        st.builds(_nest, st.integers(101, 1_200), inner, st.booleans()),
    )


def hostile_values(*, max_leaves: int = 8) -> st.SearchStrategy[object]:
    """Values a tool may return that naive code cannot print, compare or encode.

    Huge ints (thousands of digits, either sign, some too long for
    ``str()``), NaN and the infinities, bytes and bytearrays (valid and
    invalid UTF-8), sets and frozensets, tuples, self-referencing lists and
    dicts, objects whose ``__str__``/``__repr__``/``__eq__``/``__hash__``
    raise, objects whose ``__class__`` raises, exceptions whose ``__str__`` raises, int and str subclasses whose
    ``__str__`` raises, attrs instances and dataclasses holding any of these,
    dicts with keys that are not strings (ints, tuples, objects whose
    ``str()`` raises), nesting past 100 levels (up to 1,200), strings with
    lone surrogates, and plain JSON among them.

    Examples:
        ```python
        @given(value=hostile_values())
        async def test_any_value_is_an_observation(value, autojump_clock):
            registry = Registry()
            registry.add(lambda: value, name="give", side_effect="none")
            (outcome,) = await Executor(registry).run([ToolCall(id="c1", tool="give")])
            json.loads(render_observation(outcome))
        ```
    """
    return st.recursive(_leaves, _containers, max_leaves=max_leaves)


def hostile_exceptions() -> st.SearchStrategy[Exception]:
    """Exceptions a tool may raise: ones whose ``__str__`` raises, ones carrying `hostile_values`, and groups."""
    return st.one_of(
        st.builds(UnprintableError),
        st.builds(RuntimeError, hostile_values(max_leaves=4)),
        st.builds(lambda v: KeyError(v), hostile_values(max_leaves=4)),
        st.builds(lambda a, b: ValueError(a, b), hostile_values(max_leaves=3), hostile_values(max_leaves=3)),
        st.builds(
            lambda v: ExceptionGroup("several", [UnprintableError(), RuntimeError(v)]), hostile_values(max_leaves=3)
        ),
    )


def _deep_text(depth: int) -> str:
    return '{"x": ' + "[" * depth + "]" * depth + "}"


def _truncated(text: str, cut: float) -> str:
    return text[: max(1, int(len(text) * cut))]


_argument_texts = st.one_of(
    st.sampled_from(('{"x": NaN}', '{"x": Infinity}', '{"x": -Infinity}', '{"x": [1, NaN]}', "NaN")),
    st.integers(1, 9).map(lambda d: '{"x": ' + str(d) + "0" * 4_999 + "}"),  # a 5,000-digit literal
    st.integers(1, 9).map(lambda d: '{"x": -' + str(d) + "0" * 4_999 + "}"),
    st.integers(101, 3_000).map(_deep_text),
    st.sampled_from(('{"x": "\\ud800"}', '{"x": "a\\udfffb"}', '{"\\ud83d": 1}')),  # lone-surrogate escapes
    st.sampled_from(("[1, 2]", '"text"', "42", "null", "true", "[]", "")),  # not an object ("" is {})
    st.builds(_truncated, st.sampled_from(('{"x": [1, {"y": "z"}]}', '{"x": "abc"}')), st.floats(0.0, 0.95)),
    st.integers(100_000, 300_000).map(lambda n: json.dumps({"x": "a" * n})),  # a huge string
    st.text(max_size=20),
)


def hostile_arguments() -> st.SearchStrategy[Mapping[str, Any] | str]:
    """Argument payloads a model (or a caller) could send for one call.

    JSON text with ``NaN``/``Infinity``, 5,000-digit integer literals,
    nesting past 100 levels, lone-surrogate escapes, JSON that is not an
    object, truncated JSON, huge strings, arbitrary text; and mappings whose
    values are `hostile_values`.
    """
    return st.one_of(
        _argument_texts,
        st.dictionaries(st.just("x"), hostile_values(max_leaves=4), min_size=1),
        st.dictionaries(st.text(max_size=4), hostile_values(max_leaves=3), max_size=3),
    )
