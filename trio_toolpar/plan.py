"""A turn's plan, as `Executor.plan` and `Turn.plan` return it: `Plan`, one `PlannedCall` per call.

Planning is pure: ``Plan.build(registry, calls)`` (or ``executor.plan(calls)``)
checks every call, finds its references and conflicts, and orders the calls
into waves, without running anything:

```python
plan = executor.plan(calls)
print(plan.render())                   # the waves, the edges, each refusal
[c.verdict for c in plan.calls]        # why planning refused a call, or None
```
"""

from ._arguments._references import Reference as Reference
from ._planning._plan import Plan as Plan
from ._planning._planned_call import PlannedCall as PlannedCall
from ._values._outcome import Verdict as Verdict

__all__ = ["Plan", "PlannedCall", "Reference", "Verdict"]
