"""Prometheus metrics of calls, retries, latency, queue wait and capacity.

Needs the ``prometheus`` extra (``pip install 'trio_toolpar[prometheus]'``),
which brings prometheus-client. The core never imports this package. See
docs/tracing.md.
"""

try:
    import prometheus_client as _prometheus_client  # noqa: F401  (only checks that the extra is installed)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "trio_toolpar.prometheus needs prometheus-client, which is not installed: "
        "pip install 'trio_toolpar[prometheus]'"
    ) from exc

from ._metrics import PrometheusMetrics as PrometheusMetrics

__all__ = ["PrometheusMetrics"]
