"""Public objects: the error tree holds every exception."""

from __future__ import annotations

import re

import trio_toolpar._values._exceptions as exceptions
from trio_toolpar import ToolparError
from trio_toolpar.agent import ModelError

# -- ModelError is in the tree ------------------------------------------------------------------------


def test_every_exception_is_drawn_in_the_tree() -> None:
    tree = exceptions.__doc__ or ""
    defined = [c for c in vars(exceptions).values() if isinstance(c, type) and issubclass(c, ToolparError)]
    assert ModelError in defined
    for cls in defined:
        assert re.search(rf"^\s*(?:[└├]── )?{cls.__name__}\b", tree, flags=re.MULTILINE), cls.__name__
    assert issubclass(ModelError, RuntimeError)
