"""Pipelines composed in code: `step`, `parallel`, `sequence` and `race` build a `Pipeline`.

A pipeline is the same list of `trio_toolpar.ToolCall` a model would send,
with the order written into ``ToolCall.after`` and the race groups into
``ToolCall.race``, plus the `trio_toolpar.RaceRules` of its races; run it like
any turn:

```python
p = sequence(
    race(step("search_a", {"q": "x"}, id="a"), step("search_b", {"q": "x"}, id="b"), name="search"),
    step("fetch", {"url": "$@search.url"}, id="f"),
)
result = await executor.run(p.calls, races=p.races)
```
"""

from ._planning._compose import Pipeline as Pipeline
from ._planning._compose import parallel as parallel
from ._planning._compose import race as race
from ._planning._compose import sequence as sequence
from ._planning._compose import step as step

__all__ = ["Pipeline", "parallel", "race", "sequence", "step"]
