"""OpenTelemetry traces and metrics of every turn, after the GenAI semantic conventions.

Needs the ``otel`` extra (``pip install 'trio_toolpar[otel]'``), which brings
``opentelemetry-api``; install an SDK and an exporter to send the data
anywhere. The core never imports this package. See docs/tracing.md.
"""

try:
    import opentelemetry.trace as _trace  # noqa: F401  (only checks that the extra is installed)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "trio_toolpar.otel needs opentelemetry-api, which is not installed: pip install 'trio_toolpar[otel]'"
    ) from exc

from ._instrument import OpenTelemetry as OpenTelemetry

__all__ = ["OpenTelemetry"]
