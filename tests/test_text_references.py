"""References inside a text: ``"5 * $#1.rate"`` is substituted, each reference by its value as text."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import example, given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall
from trio_toolpar._arguments._references import find_references, parse_reference, scan

SOURCES: list[Any] = [
    {"rate": 0.07, "id": "mtg-42", "name": "Ada", "n": 5, "flag": True, "none": None},
    {"a": 10, "b-c": [1, {"d": "x y"}], "größe": 3, "list": [1, 2], "obj": {"k": "v"}, "text": "$#1 is literal"},
    "plain text",
]


def registry(received: list[object]) -> Registry:
    tools = Registry()

    @tools.tool(side_effect="read")
    async def source(i: int) -> Any:
        await trio.sleep(1)
        return SOURCES[i]

    @tools.tool(side_effect="read")
    async def echo(text: Any, count: int = 0) -> Any:
        received.append(text)
        return text

    return tools


async def run(text: Any, **extra: Any) -> tuple[list[object], Any]:
    received: list[object] = []
    calls = [ToolCall(id=f"s{i}", tool="source", arguments={"i": i}) for i in range(len(SOURCES))]
    calls.append(ToolCall(id="e", tool="echo", arguments={"text": text, **extra}))
    result = await Executor(registry(received)).run(calls)
    assert all(o.ok for o in result.outcomes[:-1])
    return received, result[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 * $#1.rate", "5 * 0.07"),
        ("Meeting ID: $#1.id", "Meeting ID: mtg-42"),
        ("$#2.a - $#1.n", "10 - 5"),
        ("$#2.a-$#1.n", "10-5"),
        ("Total: $#1.n.", "Total: 5."),
        ("($#1.flag, $#1.none)", "(true, null)"),
        ("Hi $#1.name's", "Hi Ada's"),
        ("$#2.b-c.1.d!", "x y!"),
        ("size $#2.größe,", "size 3,"),
        ("$#2.list and $#2.obj", '[1,2] and {"k":"v"}'),
        ("from $#2.text", "from $#1 is literal"),  # a substituted value is never read again
        ("all: $#3", "all: plain text"),
        ("$#1.rate * 2", "0.07 * 2"),
        ("costs $5 and $$#1.rate", "costs $5 and $#1.rate"),
        ("$$5.00 for $#1.name", "$5.00 for Ada"),
        ("echo $HOME $$ $#0 $#01 $#1x", "echo $HOME $$ $#0 $#01 $#1x"),
    ],
)
async def test_references_inside_a_text_are_substituted(
    text: str, expected: str, autojump_clock: trio.testing.MockClock
) -> None:
    received, outcome = await run(text)
    assert outcome.status is Status.OK, outcome.error
    assert received == [expected]


async def test_a_text_reference_waits_for_its_call(autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    _, outcome = await run("rate $#1.rate")
    assert outcome.started_at - start == 1.0  # after the source it names
    assert outcome.wave == 1


async def test_a_whole_reference_still_passes_the_value_itself(autojump_clock: trio.testing.MockClock) -> None:
    received, _ = await run("$#2.obj")
    assert received == [{"k": "v"}]
    _, outcome = await run("x", count="$#1.n")
    assert outcome.ok


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("total $#1.missing here", "'$#1.missing'"),
        ("$#1.rate - $#2.nope", "'$#2.nope'"),
        ("see $#9.x", "'$#9.x'"),
        ("the $#2.list.5 item", "'$#2.list.5'"),
    ],
)
async def test_a_text_reference_that_cannot_be_resolved_is_rejected_naming_it(
    text: str, named: str, autojump_clock: trio.testing.MockClock
) -> None:
    received, outcome = await run(text)
    assert (outcome.status, outcome.error_code) == (Status.REJECTED, ErrorCode.BAD_REFERENCE)
    assert named in outcome.error
    assert received == []


async def test_a_substituted_text_is_checked_against_the_schema(autojump_clock: trio.testing.MockClock) -> None:
    _, outcome = await run("x", count="$#1.n more")
    assert (outcome.status, outcome.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
    assert "'5 more'" in outcome.error


async def test_in_an_open_turn_a_text_reference_waits_for_its_position(
    autojump_clock: trio.testing.MockClock,
) -> None:
    received: list[object] = []
    async with Executor(registry(received)).open_turn() as turn:
        turn.submit(ToolCall(id="e", tool="echo", arguments={"text": "id=$#2.id"}))
        await trio.sleep(0.5)
        turn.submit(ToolCall(id="s", tool="source", arguments={"i": 0}))
    assert received == ["id=mtg-42"]


async def test_a_key_filled_from_a_reference_is_known_only_at_run_time(autojump_clock: trio.testing.MockClock) -> None:
    written: list[object] = []
    tools = Registry()

    @tools.tool(side_effect="read")
    async def lookup() -> dict[str, str]:
        return {"id": "7"}

    @tools.tool(side_effect="write", key="order:{order}")
    async def save(order: Any) -> None:
        written.append(order)

    result = await Executor(tools).run(
        [
            ToolCall(id="a", tool="lookup"),
            ToolCall(id="b", tool="save", arguments={"order": "no $#1.id"}),
            ToolCall(id="c", tool="save", arguments={"order": {"id": "$#1.id", "note": ["$$#1"]}}),
            ToolCall(id="d", tool="save", arguments={"order": "$$#1"}),
        ]
    )
    assert result.ok
    assert written == ["no 7", {"id": "7", "note": ["$#1"]}, "$#1"]


def test_the_path_grammar() -> None:
    (ref,) = find_references({"t": "$#1.a - 5"})[0]
    assert (ref.call_id, ref.path, ref.text) == ("#1", ("a",), "$#1.a")
    refs = sorted(find_references({"t": "$#1.a - $#2.b"})[0], key=lambda r: r.call_id)
    assert [(r.call_id, r.path) for r in refs] == [("#1", ("a",)), ("#2", ("b",))]
    assert parse_reference("$#1.a - $#2.b") is None  # a text, not one reference with the path 'a - $#2'
    assert parse_reference("$#1.items.0.id") is not None
    assert parse_reference("$c1.first name") is not None  # an id reference's path is any key, to its end
    assert find_references({"t": "$$#1"}) == ([], [], True)
    assert find_references({"t": "no reference: $5, $$, $#0, $#1x"}) == ([], [], False)
    assert scan({"t": "5 * $#1.rate"}, 100) == find_references({"t": "5 * $#1.rate"})


# -- the property: every reference in a text is substituted, or the call is rejected naming it -----

KEYS = {0: ["rate", "id", "name", "n", "flag", "none"], 1: ["a", "b-c", "größe", "list", "obj", "text"], 2: []}


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, Any, list[str]]:
    """A text of literal pieces and references; what the tool should get; the bad refs (if any, the call is
    rejected and what it should get is ``None``; a whole reference to a ``None`` value gets ``None`` too)."""
    pieces: list[str] = []
    expected: list[str] = []
    bad: list[str] = []
    whole: Any = _TEXT
    if draw(st.booleans()):
        literal = draw(st.sampled_from(["$$", "$$#1", "$$5"]))
        pieces.append(literal)
        expected.append(literal[1:])
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["literal", "reference", "missing", "escape"]))
        if kind == "literal" or (pieces and not pieces[-1][-1:].isspace() and kind != "literal"):
            # A literal piece starts with a character that ends a reference's path.
            text = draw(st.text(alphabet=" ,.:;!?()+*/=<>'\"#x1é$", max_size=6).map(lambda t: " " + t))
            text = text.replace("$", "$ ")  # a lone "$" followed by a space is literal
            pieces.append(text)
            expected.append(text)
            continue
        if kind == "escape":
            pieces.append("$$#2")
            expected.append("$#2")
            continue
        position = draw(st.integers(1, 3))
        value: Any = SOURCES[position - 1]
        path: list[str] = []
        if kind == "missing":
            path = ["missing"]
        else:
            while isinstance(value, dict) and KEYS.get(position - 1) and draw(st.booleans()):
                key = draw(st.sampled_from(sorted(value)))
                path.append(key)
                value = value[key]
        reference = "$#" + str(position) + "".join(f".{p}" for p in path)
        pieces.append(reference)
        if kind == "missing":
            bad.append(reference)
        expected.append(value if isinstance(value, str) else _compact(value))
        if len(pieces) == 1:
            whole = value
    if len(pieces) == 1 and whole is not _TEXT:
        return pieces[0], None if bad else whole, bad  # the whole argument: the value itself
    return "".join(pieces), None if bad else "".join(expected), bad


_TEXT = object()


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@given(case=texts())
@example(case=("$#1.rate * $#2.a", "0.07 * 10", []))
@example(case=("$$#1 and $#1.missing", None, ["$#1.missing"]))
@example(case=("$$$#1.name", "$Ada", []))
@example(case=("$#1.none", None, []))  # the value None, passed whole: not a rejection
async def test_every_text_reference_is_substituted_or_the_call_is_rejected_naming_it(
    case: tuple[str, Any, list[str]], autojump_clock: trio.testing.MockClock
) -> None:
    text, expected, bad = case
    received, outcome = await run(text)
    if not bad:
        assert outcome.status is Status.OK, outcome.error
        assert received == [expected]
    else:
        assert (outcome.status, outcome.error_code) == (Status.REJECTED, ErrorCode.BAD_REFERENCE)
        assert any(repr(b) in outcome.error for b in bad)
        assert received == []
