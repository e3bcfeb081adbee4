"""An instrument for tests that keeps every event it is told, in order."""

from __future__ import annotations

from trio_toolpar.events import CallEvent, Event


class Recorder:
    """Keeps every event (``events``); `of_call` picks one call's."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def of_call(self, call_id: str) -> list[CallEvent]:
        """The events of the call ``call_id``, in order."""
        return [e for e in self.events if isinstance(e, CallEvent) and e.call_id == call_id]
