"""Run the tool calls of one LLM turn on Trio: parallel where safe, ordered where not.

The public API is re-exported here; every other module is private.
"""

from ._planning._compose import Pipeline as Pipeline
from ._planning._compose import parallel as parallel
from ._planning._compose import race as race
from ._planning._compose import sequence as sequence
from ._planning._compose import step as step
from ._planning._plan import Plan as Plan
from ._planning._planned import PlannedCall as PlannedCall
from ._planning._planned import Verdict as Verdict
from ._planning._race_groups import Race as Race
from ._runtime._events import AttemptEnded as AttemptEnded
from ._runtime._events import AttemptStarted as AttemptStarted
from ._runtime._events import CallEvent as CallEvent
from ._runtime._events import CallFinished as CallFinished
from ._runtime._events import CallGranted as CallGranted
from ._runtime._events import CallQueued as CallQueued
from ._runtime._events import CallStarted as CallStarted
from ._runtime._events import Event as Event
from ._runtime._events import ResourcePaused as ResourcePaused
from ._runtime._events import RetryScheduled as RetryScheduled
from ._runtime._events import TurnEnded as TurnEnded
from ._runtime._events import TurnStarted as TurnStarted
from ._runtime._events import WaveEnded as WaveEnded
from ._runtime._events import WaveStarted as WaveStarted
from ._runtime._executor import Executor as Executor
from ._runtime._executor import OutcomeStream as OutcomeStream
from ._runtime._instrument import Instrument as Instrument
from ._runtime._limits import Rate as Rate
from ._runtime._limits import SharedLimits as SharedLimits
from ._runtime._policy import BestEffort as BestEffort
from ._runtime._policy import FailFast as FailFast
from ._runtime._policy import Policy as Policy
from ._runtime._result import TurnResult as TurnResult
from ._runtime._settings import Schedule as Schedule
from ._runtime._turn import Turn as Turn
from ._tools._backpressure import raise_for_rate_limit as raise_for_rate_limit
from ._tools._hedge import Hedge as Hedge
from ._tools._registry import Approval as Approval
from ._tools._registry import Approver as Approver
from ._tools._registry import CallContext as CallContext
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
    "Approver",
    "ArgumentsError",
    "AttemptEnded",
    "AttemptStarted",
    "BestEffort",
    "CallContext",
    "CallEvent",
    "CallFinished",
    "CallGranted",
    "CallQueued",
    "CallStarted",
    "ErrorCode",
    "Event",
    "Executor",
    "FailFast",
    "FormatError",
    "Hedge",
    "Instrument",
    "LimitUnavailable",
    "Outcome",
    "OutcomeStream",
    "Pipeline",
    "Plan",
    "PlannedCall",
    "Policy",
    "Race",
    "Rate",
    "RateLimited",
    "RegistrationError",
    "Registry",
    "ResourcePaused",
    "Retry",
    "RetryScheduled",
    "Retryable",
    "Schedule",
    "SchemaError",
    "SharedLimits",
    "SideEffect",
    "Status",
    "Tool",
    "ToolCall",
    "ToolparError",
    "Turn",
    "TurnEnded",
    "TurnResult",
    "TurnStarted",
    "TurnStateError",
    "Verdict",
    "WaveEnded",
    "WaveStarted",
    "parallel",
    "race",
    "raise_for_rate_limit",
    "render_observation",
    "sequence",
    "step",
]
