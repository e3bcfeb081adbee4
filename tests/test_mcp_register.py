"""Registering an MCP session's tools: annotations to settings, overrides, names, schemas, and the extra."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client, ClientSession
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from mcp_servers.sessions import memory_session
from pydantic import Field

from trio_toolpar import ErrorCode, Executor, RegistrationError, Registry, SchemaError, Status, ToolCall
from trio_toolpar.mcp import ToolHints, register_session, settings_from_hints

hint = st.none() | st.booleans()


@given(read_only=hint, destructive=hint, idempotent=hint, open_world=hint)
def test_hints_take_the_spec_defaults_and_only_read_only_makes_a_read(
    read_only: bool | None, destructive: bool | None, idempotent: bool | None, open_world: bool | None
) -> None:
    annotations = ToolAnnotations(
        read_only_hint=read_only, destructive_hint=destructive, idempotent_hint=idempotent, open_world_hint=open_world
    )
    hints = ToolHints.from_annotations(annotations)
    assert hints == ToolHints(
        read_only=read_only is True,
        destructive=destructive is not False,
        idempotent=idempotent is True,
        open_world=open_world is not False,
        declared=True,
    )
    settings = settings_from_hints(hints, trusted=True)
    if read_only:
        assert settings == {"side_effect": "read", "idempotent": True}
    else:  # destructive or additive, a write; retry-safe only if it says it is idempotent
        assert settings == {"side_effect": "write", "idempotent": idempotent is True}
    assert settings_from_hints(hints, trusted=False) == {"side_effect": "write", "idempotent": False}


def test_a_tool_without_annotations_is_the_risky_case() -> None:
    hints = ToolHints.from_annotations(None)
    assert hints == ToolHints(read_only=False, destructive=True, idempotent=False, open_world=True, declared=False)
    assert settings_from_hints(hints, trusted=True) == {"side_effect": "write", "idempotent": False}


async def test_the_toolbox_registers_with_its_schemas_descriptions_and_settings() -> None:
    async with memory_session() as session:
        registry = Registry()
        tools = await register_session(registry, session, resource="box", prefix="box_", exclude={"place"})
    got = {t.remote_name: (t.name, t.tool.side_effect, t.tool.idempotent, t.tool.resource) for t in tools}
    assert got["read"] == ("box_read", "read", True, "box")
    assert got["delete"] == ("box_delete", "write", False, "box")
    assert got["append"] == ("box_append", "write", True, "box")
    assert got["unannotated"] == ("box_unannotated", "write", False, "box")
    assert "place" not in got
    read = registry["box_read"]
    assert read.description == "Sleep, then return the tag: a read-only tool."
    assert read.parameters["required"] == ["seconds", "tag"]
    assert read.keys == ("mcp:box",)
    assert {t.name for t in tools} == {t.name for t in registry}


async def test_overrides_and_distrust_replace_the_hints() -> None:
    async with memory_session() as session:
        registry = Registry()
        await register_session(
            registry,
            session,
            resource="box",
            prefix="a_",
            exclude={"place"},
            order="tool",
            timeout=9.0,
            overrides={"a_read": {"side_effect": "write", "timeout": 2.0, "key": "tag:{tag}"}},
        )
        await register_session(
            registry, session, resource="box2", prefix="b_", exclude={"place"}, trust_annotations=False
        )
    assert (registry["a_read"].side_effect, registry["a_read"].timeout, registry["a_read"].keys) == (
        "write",
        2.0,
        ("tag:{tag}",),
    )
    assert (registry["a_pid"].side_effect, registry["a_pid"].timeout, registry["a_pid"].keys) == ("read", 9.0, ())
    assert {t.side_effect for t in registry if t.name.startswith("b_")} == {"write"}
    assert not any(t.idempotent for t in registry if t.name.startswith("b_"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"overrides": {"box_raed": {"side_effect": "read"}}},
            "overrides names 'box_raed', which is not one of this server's registered names; did you mean 'box_read'?",
        ),
        (
            {"overrides": {"box_read": {"side_efect": "read"}}},
            "override for 'box_read' has unknown option(s) 'side_efect'",
        ),
        ({"exclude": {"place", "nope"}}, "exclude names 'nope', which is not one of this server's tool names"),
        ({"exclude": {"place"}, "prefix": "x" * 60}, "use a shorter or plainer prefix"),
    ],
)
async def test_mistakes_are_refused_with_a_fix_and_register_nothing(options: dict[str, Any], message: str) -> None:
    registry = Registry()
    async with memory_session() as session:
        with pytest.raises(RegistrationError) as caught:
            await register_session(registry, session, **{"resource": "box", "prefix": "box_", **options})
    assert message in str(caught.value)
    assert len(registry) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"progress_timeout": 0.0}, "progress_timeout must be a positive number of seconds or None, not 0.0"),
        ({"overrides": {"box_read": {"progress_timeout": -1}}}, "tool 'box_read': progress_timeout must be a positive"),
        ({"resource": ""}, "resource must be a non-empty string, not ''"),
    ],
)
async def test_options_of_a_wrong_value_are_value_errors(options: dict[str, Any], message: str) -> None:
    registry = Registry()
    async with memory_session() as session:
        with pytest.raises(ValueError, match="must be") as caught:
            await register_session(
                registry, session, **{"resource": "box", "prefix": "box_", "exclude": {"place"}, **options}
            )
    assert message in str(caught.value)
    assert not isinstance(caught.value, TypeError)
    assert len(registry) == 0


async def test_two_servers_with_one_prefix_clash_clearly_and_the_second_adds_nothing() -> None:
    registry = Registry()
    async with memory_session() as first, memory_session() as second:
        await register_session(registry, first, resource="one", prefix="s_", exclude={"place"})
        before = len(registry)
        with pytest.raises(RegistrationError, match=r"tool 's_read' is already registered .* different prefix"):
            await register_session(registry, second, resource="two", prefix="s_", exclude={"place"})
        assert len(registry) == before
        await register_session(registry, second, resource="two", prefix="t_", exclude={"place"})
    assert len(registry) == 2 * before


@asynccontextmanager
async def _odd_server() -> AsyncIterator[ClientSession]:
    server = MCPServer(name="odd")

    @server.tool(name="fine", annotations=ToolAnnotations(read_only_hint=True))
    async def fine(x: int) -> int:
        return x

    @server.tool(name="conditional")
    async def conditional(x: Annotated[int, Field(json_schema_extra={"if": {"minimum": 0}})]) -> int:
        return x

    async with Client(server) as client:
        yield client.session


async def test_a_schema_the_validator_cannot_check_is_refused_unless_excluded() -> None:
    registry = Registry()
    async with _odd_server() as session:
        with pytest.raises(SchemaError, match=r"tool 'conditional': schema keyword 'if' .* exclude="):
            await register_session(registry, session, resource="odd")
        assert len(registry) == 0
        await register_session(registry, session, resource="odd", exclude={"conditional"})
    assert [t.name for t in registry] == ["fine"]


async def test_a_nested_pydantic_argument_registers_and_is_validated() -> None:
    # Its input schema holds $defs and a $ref to them.
    async with memory_session() as session:
        registry = Registry()
        await register_session(registry, session, resource="box", prefix="box_")
        assert "$defs" in registry["box_place"].parameters
        good = {"item": "tea", "quantity": 2, "ship_to": {"street": "1 Main St", "city": "Oslo"}}
        bad = {"item": "tea", "quantity": 2, "ship_to": {"street": "1 Main St"}}
        result = await Executor(registry).run(
            [
                ToolCall(id="good", tool="box_place", arguments={"order": good}),
                ToolCall(id="bad", tool="box_place", arguments={"order": bad}),
            ]
        )
    assert result[0].value == {"item": "tea", "city": "Oslo"}
    assert (result[1].status, result[1].error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)


def test_importing_without_the_sdk_says_how_to_install_it() -> None:
    code = "import sys; sys.modules['mcp'] = None\nimport trio_toolpar.mcp"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ImportError: trio_toolpar.mcp needs the MCP SDK" in done.stderr
    assert "pip install 'trio_toolpar[mcp]'" in done.stderr


def test_the_core_and_other_edges_never_import_the_mcp_edge() -> None:
    code = (
        "import sys, trio_toolpar, trio_toolpar.agent, trio_toolpar.openai, trio_toolpar.anthropic\n"
        "import trio_toolpar.testing\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'trio_toolpar.mcp'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
