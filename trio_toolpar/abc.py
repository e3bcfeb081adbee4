"""The protocols you implement to plug into an executor (like ``trio.abc``).

* `Policy`: what one call's failure stops among the rest of its turn (a
  `FailureScope`, or nothing); `trio_toolpar.BestEffort` and
  `trio_toolpar.FailFast` implement it; ``Executor(policy=...)``.
* `Instrument`: an observer told of each step of every turn
  (`trio_toolpar.events`); ``Executor(instruments=[...])``.
* `SharedLimits`: caps and rates shared with other processes
  (`trio_toolpar.redis.RedisLimits` implements it); ``Executor(shared_limits=...)``.
* `Approver`: ``async (call, tool) -> bool | Approval``, deciding whether a
  gated call may run; ``Registry.add(approval=...)``, ``Executor(approve=...)``.
* `Journal`: where durable turns are recorded
  (`trio_toolpar.journal.SqliteJournal` implements it); ``Executor(journal=...)``.

`Policy`, `Instrument`, `SharedLimits` and `Journal` are runtime-checkable: the
executor checks what it is given with ``isinstance``.
"""

from ._journal._protocol import Journal as Journal
from ._runtime._instrument import Instrument as Instrument
from ._runtime._limits import SharedLimits as SharedLimits
from ._runtime._policy import FailureScope as FailureScope
from ._runtime._policy import Policy as Policy
from ._tools._registry import Approver as Approver

__all__ = ["Approver", "FailureScope", "Instrument", "Journal", "Policy", "SharedLimits"]
