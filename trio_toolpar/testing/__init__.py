"""Tools for testing agents that use trio_toolpar: fake tools, a recorder, Hypothesis strategies, a journal.

Importing this module needs Hypothesis (the ``testing`` extra).
"""

from ._fakes import FAKE_PARAMETERS as FAKE_PARAMETERS
from ._fakes import ScriptedFailure as ScriptedFailure
from ._fakes import add_fake_tool as add_fake_tool
from ._hostile import hostile_arguments as hostile_arguments
from ._hostile import hostile_exceptions as hostile_exceptions
from ._hostile import hostile_values as hostile_values
from ._journal import MemoryJournal as MemoryJournal
from ._journal import SimulatedCrash as SimulatedCrash
from ._oracle import Oracle as Oracle
from ._recorder import Interval as Interval
from ._recorder import Recorder as Recorder
from ._strategies import CallSpec as CallSpec
from ._strategies import TurnSpec as TurnSpec
from ._strategies import turns as turns

__all__ = [
    "FAKE_PARAMETERS",
    "CallSpec",
    "Interval",
    "MemoryJournal",
    "Oracle",
    "Recorder",
    "ScriptedFailure",
    "SimulatedCrash",
    "TurnSpec",
    "add_fake_tool",
    "hostile_arguments",
    "hostile_exceptions",
    "hostile_values",
    "turns",
]
