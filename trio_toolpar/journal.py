"""Durable turns: the records a journal keeps, and `SqliteJournal`, the store for one machine.

`trio_toolpar.redis.RedisJournal` keeps the same records in Redis, for
processes on several machines. A store of your own implements
`trio_toolpar.abc.Journal` with these records.
"""

from ._journal._records import Decision as Decision
from ._journal._records import Finished as Finished
from ._journal._records import JournalCall as JournalCall
from ._journal._records import Record as Record
from ._journal._records import Started as Started
from ._journal._records import TurnBusy as TurnBusy
from ._journal._records import TurnLog as TurnLog
from ._journal._records import TurnMismatch as TurnMismatch
from ._journal._records import Waiting as Waiting
from ._journal._sqlite import SqliteJournal as SqliteJournal

__all__ = [
    "Decision",
    "Finished",
    "JournalCall",
    "Record",
    "SqliteJournal",
    "Started",
    "TurnBusy",
    "TurnLog",
    "TurnMismatch",
    "Waiting",
]
