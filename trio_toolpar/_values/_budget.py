"""One turn's observations under one size budget, split fairly.

The budget is a number of characters: the sum of ``len()`` of the
observations' texts (the ``content`` of each ``role: "tool"`` message, the
``output`` of each Responses item, the ``content`` of each Anthropic
``tool_result`` block; the messages' other fields are not counted). It is
split max-min fairly (water-filling): an observation that fits in an equal
share keeps its whole text, and what those leave is shared equally among
the rest, the characters that do not divide evenly going one each to the
earliest in the calls' order. Each observation given less than its length
is cut by `Observation.render`, which says what it dropped; none is longer
than its share, so the budget is never exceeded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._observation import DEFAULT_MAX_CHARS, MIN_OBSERVATION_CHARS, Observation, check_max_chars
from ._outcome import Outcome
from ._validate import check_whole_number

__all__ = ["fair_shares", "render_observations"]


def fair_shares(sizes: Sequence[int], budget: int) -> list[int]:
    """Max-min fair shares of ``budget`` for texts of ``sizes``: no share above its size, the sum at most ``budget``.

    When the sizes fit, each share is its size. Otherwise the shares are
    ``min(size, level)`` for the largest ``level`` that fits, and the
    characters left over go one each to the earliest texts still short of
    their size, so that the whole budget is used and the split is the same
    in every run.
    """
    if sum(sizes) <= budget:
        return list(sizes)
    shares = list(sizes)
    by_size = sorted(range(len(sizes)), key=lambda i: sizes[i])
    left, whole = budget, 0  # the smallest first: each keeps its size while it is within an equal share
    while sizes[by_size[whole]] <= left // (len(sizes) - whole):  # ends: together they exceed the budget
        left -= sizes[by_size[whole]]
        whole += 1
    capped = sorted(by_size[whole:])
    level, extra = divmod(left, len(capped))
    for rank, i in enumerate(capped):
        shares[i] = level + (rank < extra)
    return shares


def render_observations(
    outcomes: Iterable[Outcome],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    budget: int | None = None,
    traceback: bool = False,
    include_timing: bool = False,
) -> list[str]:
    """Each outcome's observation (see `render_observation`), in order, together at most ``budget`` characters.

    Each is first capped at ``max_chars``; then, if together they are longer
    than ``budget``, the budget is split by `fair_shares` and each
    observation longer than its share is cut to it.

    Raises:
        TypeError: ``max_chars`` or ``budget`` is not an ``int``.
        ValueError: ``max_chars`` is less than 29; ``budget`` is negative, or
            too small for these outcomes: it must hold each observation
            whole, or, for one that must be cut, the 29 characters of the
            shortest cut observation.
    """
    check_max_chars(max_chars)
    check_whole_number("budget", budget, minimum=0, allow_none=True)
    observations = [Observation(o, traceback=traceback, include_timing=include_timing) for o in outcomes]
    texts = [observation.render(max_chars) for observation in observations]
    sizes = [len(text) for text in texts]
    if budget is None or sum(sizes) <= budget:
        return texts
    least = sum(min(size, MIN_OBSERVATION_CHARS) for size in sizes)
    if budget < least:
        raise ValueError(
            f"budget={budget} is too small for these {len(texts)} observations: each needs its whole text"
            f" or at least {MIN_OBSERVATION_CHARS} characters, {least} in all"
        )
    return [
        text if share >= len(text) else observation.render(share)
        for observation, text, share in zip(observations, texts, fair_shares(sizes, budget), strict=True)
    ]
