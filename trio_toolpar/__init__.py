"""Run the tool calls of one LLM turn on Trio: parallel where safe, ordered where not.

The public API is re-exported here; every other module is private.
"""

from ._backpressure import raise_for_rate_limit as raise_for_rate_limit
from ._compose import Pipeline as Pipeline
from ._compose import parallel as parallel
from ._compose import race as race
from ._compose import sequence as sequence
from ._compose import step as step
from ._events import AttemptEnded as AttemptEnded
from ._events import AttemptStarted as AttemptStarted
from ._events import CallEvent as CallEvent
from ._events import CallFinished as CallFinished
from ._events import CallGranted as CallGranted
from ._events import CallQueued as CallQueued
from ._events import CallStarted as CallStarted
from ._events import Event as Event
from ._events import ResourcePaused as ResourcePaused
from ._events import RetryScheduled as RetryScheduled
from ._events import TurnEnded as TurnEnded
from ._events import TurnStarted as TurnStarted
from ._events import WaveEnded as WaveEnded
from ._events import WaveStarted as WaveStarted
from ._exceptions import ArgumentsError as ArgumentsError
from ._exceptions import FormatError as FormatError
from ._exceptions import LimitUnavailable as LimitUnavailable
from ._exceptions import RateLimited as RateLimited
from ._exceptions import RegistrationError as RegistrationError
from ._exceptions import Retryable as Retryable
from ._exceptions import SchemaError as SchemaError
from ._exceptions import ToolparError as ToolparError
from ._exceptions import TurnStateError as TurnStateError
from ._executor import Executor as Executor
from ._executor import OutcomeStream as OutcomeStream
from ._hedge import Hedge as Hedge
from ._instrument import Instrument as Instrument
from ._limits import Rate as Rate
from ._limits import SharedLimits as SharedLimits
from ._observation import render_observation as render_observation
from ._outcome import ErrorCode as ErrorCode
from ._outcome import Outcome as Outcome
from ._outcome import Status as Status
from ._outcome import ToolCall as ToolCall
from ._plan import Plan as Plan
from ._planned import PlannedCall as PlannedCall
from ._planned import Verdict as Verdict
from ._policy import BestEffort as BestEffort
from ._policy import FailFast as FailFast
from ._policy import Policy as Policy
from ._races import Race as Race
from ._registry import Approval as Approval
from ._registry import Approver as Approver
from ._registry import CallContext as CallContext
from ._registry import Registry as Registry
from ._registry import SideEffect as SideEffect
from ._registry import Tool as Tool
from ._result import TurnResult as TurnResult
from ._retry import Retry as Retry
from ._settings import Schedule as Schedule
from ._turn import Turn as Turn

__version__ = "0.1.0"

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
