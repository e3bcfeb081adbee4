"""Run the tool calls of one LLM turn on Trio: parallel where safe, ordered where not.

The names you build, call, pass or catch are here. The rest of the public API
lives in four modules: `trio_toolpar.events` (what an instrument is told,
capacity statistics), `trio_toolpar.abc` (the protocols you implement),
`trio_toolpar.plan` (a turn's plan) and `trio_toolpar.compose` (pipelines
composed in code). Every module starting with ``_`` is private.
"""

import warnings
from typing import TYPE_CHECKING

from . import abc as abc
from . import compose as compose
from . import events as events
from . import plan as plan
from ._planning._race_groups import RaceRules as RaceRules
from ._runtime._executor import Executor as Executor
from ._runtime._executor import OutcomeStream as OutcomeStream
from ._runtime._limits import Rate as Rate
from ._runtime._policy import BestEffort as BestEffort
from ._runtime._policy import FailFast as FailFast
from ._runtime._result import TurnResult as TurnResult
from ._runtime._settings import Schedule as Schedule
from ._runtime._turn import Turn as Turn
from ._runtime._turn_options import USE_EXECUTOR_DEFAULT as USE_EXECUTOR_DEFAULT
from ._runtime._turn_options import UseExecutorDefault as UseExecutorDefault
from ._tools._backpressure import raise_for_rate_limit as raise_for_rate_limit
from ._tools._context import CallContext as CallContext
from ._tools._hedge import Hedge as Hedge
from ._tools._registry import Approval as Approval
from ._tools._registry import Registry as Registry
from ._tools._registry import SideEffect as SideEffect
from ._tools._registry import Tool as Tool
from ._tools._retry import Retry as Retry
from ._values._exceptions import ArgumentsError as ArgumentsError
from ._values._exceptions import FormatError as FormatError
from ._values._exceptions import LimitUnavailable as LimitUnavailable
from ._values._exceptions import RateLimited as RateLimited
from ._values._exceptions import RegistrationError as RegistrationError
from ._values._exceptions import Retryable as Retryable
from ._values._exceptions import SchemaError as SchemaError
from ._values._exceptions import ToolparError as ToolparError
from ._values._exceptions import TurnStateError as TurnStateError
from ._values._observation import render_observation as render_observation
from ._values._outcome import ErrorCode as ErrorCode
from ._values._outcome import Outcome as Outcome
from ._values._outcome import Status as Status
from ._values._outcome import ToolCall as ToolCall

__version__ = "0.2.0.dev0"

__all__ = [
    "Approval",
    "ArgumentsError",
    "BestEffort",
    "CallContext",
    "ErrorCode",
    "Executor",
    "FailFast",
    "FormatError",
    "Hedge",
    "LimitUnavailable",
    "Outcome",
    "OutcomeStream",
    "RaceRules",
    "Rate",
    "RateLimited",
    "RegistrationError",
    "Registry",
    "Retry",
    "Retryable",
    "Schedule",
    "SchemaError",
    "SideEffect",
    "Status",
    "Tool",
    "ToolCall",
    "ToolparError",
    "Turn",
    "TurnResult",
    "TurnStateError",
    "USE_EXECUTOR_DEFAULT",
    "UseExecutorDefault",
    "raise_for_rate_limit",
    "render_observation",
]

_MOVED = {
    **dict.fromkeys(set(events.__all__) - {"CapacityStatistics", "ResourceStatistics"}, events),
    **dict.fromkeys(abc.__all__, abc),
    **dict.fromkeys(("Plan", "PlannedCall", "Verdict"), plan),
    **dict.fromkeys(compose.__all__, compose),
}
"""Names that left the top level, by their new module (see CHANGELOG.md)."""

if not TYPE_CHECKING:  # type checkers should flag the old names, not take them for ``object``

    def __getattr__(name: str) -> object:
        """The old top-level names, for a while: each warns and says where it lives now."""
        if name == "Race":
            warnings.warn(
                "trio_toolpar.Race is now trio_toolpar.RaceRules (trio_toolpar.compose.race builds a race); "
                "the old name will be removed",
                DeprecationWarning,
                stacklevel=2,
            )
            return RaceRules
        module = _MOVED.get(name)
        if module is None:
            raise AttributeError(f"module 'trio_toolpar' has no attribute {name!r}")
        warnings.warn(
            f"trio_toolpar.{name} moved to {module.__name__}: use 'from {module.__name__} import {name}'; "
            "the old name will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(module, name)
