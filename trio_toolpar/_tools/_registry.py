"""Tools and their metadata: the `Registry`."""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Literal, TypedDict, TypeVar, Unpack, final, overload

import attrs

from .._arguments._acceptor import Acceptor, compile_acceptor
from .._arguments._schema import check_schema
from .._arguments._signature import describe_signature, is_async_callable
from .._arguments._structuring import Structure
from .._values._exceptions import RegistrationError, SchemaError
from .._values._outcome import ToolCall
from .._values._validate import (
    check_callable,
    check_choice,
    check_positive_number,
    check_type,
    check_whole_number,
)
from ._approval import Approval
from ._context import CallContext
from ._hedge import Hedge
from ._retry import Retry

__all__ = ["Approval", "Approver", "Reconcile", "Registry", "SideEffect", "Tool"]

SideEffect = Literal["none", "read", "write"]
F = TypeVar("F", bound=Callable[..., Any])
Approver = Callable[[ToolCall, "Tool"], Awaitable["bool | Approval"]]
"""``async (call, tool) -> bool | Approval``; ``call.arguments`` are the arguments the tool would receive."""
Reconcile = Callable[[ToolCall, str | None], Awaitable[Any]]
"""``async (call, idempotency_key) -> value``: a call's outcome, looked up by its key (see `Registry.add`)."""

_SIDE_EFFECTS = ("none", "read", "write")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FIELD = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_0-9]\w*)*$")


@final
@attrs.frozen(kw_only=True)
class Tool:
    """A registered tool. Build them with `Registry.tool` or `Registry.add`."""

    name: str
    fn: Callable[..., Any] = attrs.field(repr=False)
    description: str
    parameters: Mapping[str, Any] = attrs.field(repr=False)
    side_effect: SideEffect
    resource: str | None
    keys: tuple[str, ...]
    """Resource-key templates such as ``"order:{order_id}"``."""
    timeout: float | None
    idempotent: bool
    idempotency_key: bool
    """The tool passes `CallContext.idempotency_key` downstream, so retries are safe."""
    retry: Retry | None
    is_async: bool
    context_parameter: str | None
    abandon_on_cancel: bool
    weight: int
    """Units of its resource's cap (and tokens of its rate) one call takes."""
    key_fields: tuple[tuple[str, ...], ...] = attrs.field(repr=False)
    """Per template, the argument paths it reads."""
    structure: Structure = attrs.field(repr=False, eq=False)
    """Turns validated JSON arguments into the declared Python types; raises `ArgumentsError`."""
    approval: Approver | bool = attrs.field(default=False, repr=False)
    """Its calls wait for approval: its own approver, or ``True`` for the executor's ``approve=``."""
    hedge: Hedge | None = None
    """When a slow attempt starts a duplicate (reads only)."""
    reconcile: Reconcile | None = attrs.field(default=None, repr=False)
    """How a resumed durable turn learns the outcome of a call left in doubt by a crash."""
    progress_timeout: float | None = None
    """Seconds an attempt may go without a progress report (`CallContext.progress`) or a result."""
    accepts: Acceptor = attrs.field(init=False, repr=False, eq=False)
    """`parameters` compiled once: a quick check for arguments that surely fit."""
    accepts_flat: Acceptor = attrs.field(init=False, repr=False, eq=False)
    """`accepts`, for flat arguments only: no references, ``$$`` escapes or nesting (the planner's quick path)."""
    accepts_references: Acceptor = attrs.field(init=False, repr=False, eq=False)
    """`accepts`, where a text that is or holds a reference passes as any value (checked once substituted)."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "accepts", compile_acceptor(self.parameters))
        object.__setattr__(self, "accepts_flat", compile_acceptor(self.parameters, flat=True))
        object.__setattr__(self, "accepts_references", compile_acceptor(self.parameters, references=True))

    @property
    def retry_safe(self) -> bool:
        """Whether running this tool twice for one call is harmless."""
        return self.idempotent or self.idempotency_key


def _key_fields(template: str, tool: str) -> tuple[str, ...]:
    fields: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise RegistrationError(f"tool {tool!r}: key template {template!r} is malformed: {exc}", tool=tool) from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not _FIELD.match(field) or spec or conversion:
            raise RegistrationError(
                f"tool {tool!r}: key template {template!r} may only hold argument names such as "
                f"'{{order_id}}' or '{{order.id}}', not {{{field}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}}",
                tool=tool,
            )
        fields.append(field)
    return tuple(fields)


class ToolOptions(TypedDict, total=False):
    """The options of `Registry.add`, for `Registry.tool` (see `add` for each)."""

    name: str | None
    description: str | None
    parameters: Mapping[str, Any] | None
    side_effect: SideEffect | None
    resource: str | None
    key: str | tuple[str, ...] | None
    timeout: float | None
    idempotent: bool | None
    idempotency_key: bool
    retry: Retry | None
    abandon_on_cancel: bool
    weight: int
    approval: Approver | bool
    hedge: Hedge | None
    reconcile: Reconcile | None
    progress_timeout: float | None


@final
class Registry:
    """The tools a model may call, by name.

    Args:
        default_side_effect: the side effect of tools registered without
            one (default ``"write"``: the safe assumption; ``"read"`` makes
            undeclared tools parallel and retryable).

    Examples:
        ```python
        tools = Registry()

        @tools.tool(side_effect="read", resource="jira", key="issue:{key}", timeout=10)
        async def get_issue(key: str) -> dict[str, object]:
            ...
        ```
    """

    def __init__(self, *, default_side_effect: SideEffect = "write") -> None:
        check_choice("default_side_effect", default_side_effect, _SIDE_EFFECTS)
        self._tools: dict[str, Tool] = {}
        self.default_side_effect: SideEffect = default_side_effect
        """The side effect of tools registered without one: ``"write"`` unless you chose otherwise."""

    def add(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        side_effect: SideEffect | None = None,
        resource: str | None = None,
        key: str | tuple[str, ...] | None = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
        idempotency_key: bool = False,
        retry: Retry | None = None,
        abandon_on_cancel: bool = False,
        weight: int = 1,
        approval: Approver | bool = False,
        hedge: Hedge | None = None,
        reconcile: Reconcile | None = None,
        progress_timeout: float | None = None,
    ) -> Tool:
        """Register ``fn`` (async or sync) as a tool and return its `Tool`.

        Args:
            fn: the callable; it receives the call's arguments as keywords.
            name: the name the model uses (default: ``fn.__name__``).
            description: shown to the model (default: the docstring's summary).
            parameters: the arguments' JSON schema (default: derived from the
                signature and type hints).
            side_effect: ``"none"`` (pure), ``"read"`` or ``"write"``; reads and
                writes on the same resource key are ordered. Not given: the
                registry's ``default_side_effect``, ``"write"`` unless chosen
                otherwise — an undeclared tool may be a payment, so it is
                never retried and is ordered against its own other calls.
                Declaring ``"read"`` (or ``"none"``) is the opt-in to
                parallelism and retries.
            resource: the integration whose capacity limit applies (e.g. ``"jira"``).
            key: resource-key template(s) filled from the arguments, e.g.
                ``"order:{order_id}"``.
            timeout: seconds each attempt may take.
            idempotent: running it twice is harmless (default: not for writes).
            idempotency_key: it passes `CallContext.idempotency_key` downstream,
                which makes retrying a write safe.
            retry: this tool's retry settings (default: the policy's).
            abandon_on_cancel: for sync tools, whether a cancelled call stops
                waiting for its thread (which runs on, unobserved, keeping
                the call's capacity until it returns) instead of waiting for
                it to return (the default: past its ``timeout``, the call
                then ends ``timeout`` when the thread returns).
            weight: how many units of its resource's cap (and tokens of its
                rate, and of ``max_concurrency``) one call takes.
            approval: its calls wait, holding no capacity, for an approver's
                yes: ``async (call, tool) -> bool | Approval`` of its own, or
                ``True`` for the executor's ``approve=`` (see `Approval`).
            hedge: for an async read, start a duplicate of an attempt that
                has no result after ``Hedge.after`` seconds; the first copy
                to return wins (see `Hedge`). Never for writes.
            reconcile: ``async (call, idempotency_key) -> value``: when a
                resumed durable turn finds a call of this tool started and
                never finished, what it returns becomes the call's ``ok``
                value instead of ``in_doubt`` (raise if it cannot tell).
            progress_timeout: seconds each attempt may go without reporting
                progress through its `CallContext` (or returning): it then
                ends ``timeout``; each report starts the wait again. Needs a
                ``CallContext`` parameter; with ``timeout``, the first to
                pass ends the attempt.

        Raises:
            TypeError: an option of the wrong type (``weight="2"``).
            ValueError: an option of the wrong value (``weight=0``, ``side_effect="rw"``).
            RegistrationError: a bad or taken name, a bad key template,
                options that are unsafe together (a retried or hedged
                write), or a signature that cannot be described as JSON.
            SchemaError: an explicit schema the validator cannot check.
        """
        check_type("name", name, str, allow_none=True)
        check_type("description", description, str, allow_none=True)
        check_type("parameters", parameters, Mapping, expected="a JSON schema (a mapping)", allow_none=True)
        check_type("key", key, (str, tuple), expected="a template or a tuple of templates", allow_none=True)
        check_callable("reconcile", reconcile, expected="an async (call, idempotency_key) -> value", allow_none=True)
        tool_name = name if name is not None else getattr(fn, "__name__", "")
        if not _NAME.match(tool_name):
            raise RegistrationError(
                f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-' (the providers' rule)",
                tool=tool_name,
            )
        if tool_name in self._tools:
            raise RegistrationError(f"tool {tool_name!r} is already registered", tool=tool_name)
        if side_effect is None:
            side_effect = self.default_side_effect
        where = f"tool {tool_name!r}:"
        check_callable(f"{where} fn", fn, expected="a function")
        check_choice(f"{where} side_effect", side_effect, _SIDE_EFFECTS)
        check_positive_number(f"{where} timeout", timeout, unit="seconds", allow_none=True)
        check_positive_number(f"{where} progress_timeout", progress_timeout, unit="seconds", allow_none=True)
        check_whole_number(f"{where} weight", weight)
        check_type(f"{where} resource", resource, str, allow_none=True)
        check_type(f"{where} idempotent", idempotent, bool, allow_none=True)
        check_type(f"{where} idempotency_key", idempotency_key, bool)
        check_type(f"{where} abandon_on_cancel", abandon_on_cancel, bool)
        check_type(f"{where} retry", retry, Retry, expected="a Retry(...)", allow_none=True)
        check_type(f"{where} hedge", hedge, Hedge, expected="a Hedge(after=...)", allow_none=True)
        if not isinstance(approval, bool):
            check_callable(
                f"{where} approval", approval, expected="True, False or an async (call, tool) -> bool | Approval"
            )
        idempotent = side_effect != "write" if idempotent is None else idempotent
        if hedge is not None and (side_effect == "write" or not idempotent):
            raise RegistrationError(
                f"tool {tool_name!r}: only an idempotent read can be hedged (a write must never run twice); "
                "declare side_effect='read' and pass hedge=Hedge(after=seconds)",
                tool=tool_name,
            )
        if retry is not None and retry.attempts > 1 and not (idempotent or idempotency_key):
            raise RegistrationError(
                f"tool {tool_name!r} is a non-idempotent write, so a retry could do it twice; "
                "pass idempotent=True, or idempotency_key=True if it sends CallContext.idempotency_key downstream",
                tool=tool_name,
            )
        signature = describe_signature(fn, tool=tool_name, context_type=CallContext, derive=parameters is None)
        context_parameter, summary = signature.context_parameter, signature.summary
        if progress_timeout is not None and context_parameter is None:
            raise RegistrationError(
                f"tool {tool_name!r}: progress_timeout needs a way to report progress; "
                "add a parameter annotated CallContext and call its progress(done, total)",
                tool=tool_name,
            )
        schema = signature.schema if parameters is None else dict(parameters)
        try:
            check_schema(schema)
        except SchemaError as exc:
            raise SchemaError(f"tool {tool_name!r}: {exc}", path=exc.path) from None
        if schema.get("type") != "object":
            raise SchemaError(f"tool {tool_name!r}: the arguments' schema must have type 'object'")
        templates = (key,) if isinstance(key, str) else tuple(key or ())
        key_fields = tuple(_key_fields(t, tool_name) for t in templates)
        known = set(schema.get("properties", {}))
        for fields in key_fields:
            for field in fields:
                if field.split(".")[0] not in known:
                    raise RegistrationError(
                        f"tool {tool_name!r}: key field {field!r} is not an argument "
                        f"(known: {', '.join(sorted(known))})",
                        tool=tool_name,
                    )
        is_async = is_async_callable(fn)
        if hedge is not None and not (is_async or abandon_on_cancel):
            raise RegistrationError(
                f"tool {tool_name!r}: a sync tool's losing copy would hold the winner until its thread returns; "
                "hedge an async tool, or pass abandon_on_cancel=True",
                tool=tool_name,
            )
        tool = Tool(
            name=tool_name,
            fn=fn,
            description=description if description is not None else summary,
            parameters=schema,
            side_effect=side_effect,
            resource=resource,
            keys=templates,
            timeout=timeout,
            idempotent=idempotent,
            idempotency_key=idempotency_key,
            retry=retry,
            is_async=is_async,
            context_parameter=context_parameter,
            abandon_on_cancel=abandon_on_cancel,
            weight=weight,
            key_fields=key_fields,
            structure=signature.structure,
            approval=approval,
            hedge=hedge,
            reconcile=reconcile,
            progress_timeout=progress_timeout,
        )
        self._tools[tool_name] = tool
        return tool

    @overload
    def tool(self, fn: F, /) -> F: ...

    @overload
    def tool(self, fn: None = None, /, **options: Unpack[ToolOptions]) -> Callable[[F], F]: ...

    def tool(self, fn: F | None = None, /, **options: Unpack[ToolOptions]) -> F | Callable[[F], F]:
        """Decorator form of `add`: ``@registry.tool`` or ``@registry.tool(...)``, with `add`'s options.

        The decorated function is returned unchanged, so it stays callable directly.
        """

        def register(f: F) -> F:
            self.add(f, **options)
            return f

        return register(fn) if fn is not None else register

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def suggest(self, name: str) -> str | None:
        """The registered name closest to a mistyped ``name``, if any is close."""
        matches = difflib.get_close_matches(name, list(self._tools), n=1, cutoff=0.6)
        return matches[0] if matches else None

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)
