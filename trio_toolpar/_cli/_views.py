"""Choosing the live progress view: rich when it is installed and wanted, else plain lines."""

from __future__ import annotations

import importlib.util
from typing import IO

from ._progress import NoProgress, PlainProgress, ProgressMode, ProgressView

__all__ = ["make_progress", "rich_available"]


def rich_available() -> bool:
    """Whether the optional ``rich`` package (the ``cli`` extra) is installed."""
    return importlib.util.find_spec("rich") is not None


def make_progress(mode: ProgressMode, *, out: IO[str], unit: str) -> ProgressView:
    """The view for ``mode``: ``auto`` is ``rich`` on a terminal when it is installed, else ``plain``.

    Raises:
        RuntimeError: ``rich`` was asked for and is not installed.
    """
    if mode == "off":
        return NoProgress()
    wants_rich = mode == "rich" or (mode == "auto" and out.isatty() and rich_available())
    if not wants_rich:
        return PlainProgress(out, unit=unit)
    if not rich_available():
        raise RuntimeError("--progress rich needs the rich package: pip install 'trio_toolpar[cli]'")
    from ._rich import RichProgress

    return RichProgress(out, unit=unit)
