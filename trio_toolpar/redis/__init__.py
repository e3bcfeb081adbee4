"""Rate limits, caps and durable turns shared by many worker processes through Redis.

Needs the ``redis`` extra (``pip install 'trio_toolpar[redis]'``), which
brings coredis, a Redis client that runs under Trio. The core never imports
this package.
"""

try:
    import coredis as _coredis  # noqa: F401  (only checks that the extra is installed)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "trio_toolpar.redis needs coredis, which is not installed: pip install 'trio_toolpar[redis]'"
    ) from exc

from ._errors import JournalUnavailable as JournalUnavailable
from ._errors import LimitMisconfigured as LimitMisconfigured
from ._journal import RedisJournal as RedisJournal
from ._limits import RedisLimits as RedisLimits
from ._statistics import RedisLimitStatistics as RedisLimitStatistics

__all__ = ["JournalUnavailable", "LimitMisconfigured", "RedisJournal", "RedisLimitStatistics", "RedisLimits"]
