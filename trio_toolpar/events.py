"""What you can observe of an executor: the events an `Instrument` is told of, and its capacity statistics.

Every event has ``turn`` (the executor's number for the turn, `Turn.number`)
and ``time`` (Trio's clock); call events add the call's ``index``,
``call_id``, ``tool`` and ``resource``. An `trio_toolpar.abc.Instrument`
matches on the event's class and ignores the rest:

```python
class Slow:
    def on_event(self, event: Event) -> None:
        if isinstance(event, CallFinished) and event.outcome.latency_ms > 1000:
            ...
```

`Executor.statistics` returns a `CapacityStatistics`: what each capped or
rate-limited resource holds, owes and waits for now.
"""

from ._runtime._capacity import CapacityStatistics as CapacityStatistics
from ._runtime._capacity import ResourceStatistics as ResourceStatistics
from ._runtime._events import AttemptEnded as AttemptEnded
from ._runtime._events import AttemptStarted as AttemptStarted
from ._runtime._events import CallEvent as CallEvent
from ._runtime._events import CallFinished as CallFinished
from ._runtime._events import CallGranted as CallGranted
from ._runtime._events import CallProgressed as CallProgressed
from ._runtime._events import CallQueued as CallQueued
from ._runtime._events import CallStarted as CallStarted
from ._runtime._events import Event as Event
from ._runtime._events import ResourcePaused as ResourcePaused
from ._runtime._events import RetryScheduled as RetryScheduled
from ._runtime._events import TurnEnded as TurnEnded
from ._runtime._events import TurnStarted as TurnStarted
from ._runtime._events import WaveEnded as WaveEnded
from ._runtime._events import WaveStarted as WaveStarted

__all__ = [
    "AttemptEnded",
    "AttemptStarted",
    "CallEvent",
    "CallFinished",
    "CallGranted",
    "CallProgressed",
    "CallQueued",
    "CallStarted",
    "CapacityStatistics",
    "Event",
    "ResourcePaused",
    "ResourceStatistics",
    "RetryScheduled",
    "TurnEnded",
    "TurnStarted",
    "WaveEnded",
    "WaveStarted",
]
