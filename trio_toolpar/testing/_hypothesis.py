"""Hypothesis, which this subpackage needs, or an `ImportError` that names the extra bringing it."""

from __future__ import annotations

try:
    from hypothesis import strategies as st
except ImportError as exc:  # say how to get it, not only that it is missing
    raise ImportError(
        "trio_toolpar.testing needs Hypothesis: pip install 'trio_toolpar[testing]' (or pip install hypothesis)"
    ) from exc

__all__ = ["st"]
