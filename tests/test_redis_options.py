"""RedisLimits rejects options and holds that could never work, with messages that say how to fix them."""

from __future__ import annotations

import math
from typing import Any

import coredis
import pytest

import trio_toolpar.redis
from trio_toolpar import Rate
from trio_toolpar.abc import SharedLimits
from trio_toolpar.redis import RedisLimits, RedisLimitStatistics

# Never entered: building RedisLimits registers scripts but talks to nobody.
CLIENT: coredis.Redis[Any] = coredis.Redis(host="127.0.0.1", port=1)


def test_redis_limits_satisfy_the_shared_limits_protocol() -> None:
    shared: SharedLimits = RedisLimits(CLIENT, caps={"db": 1})  # checked by mypy as well
    assert isinstance(shared, SharedLimits)


def test_the_redis_package_exports_exactly_its_documented_names() -> None:
    assert trio_toolpar.redis.__all__ == sorted(trio_toolpar.redis.__all__)
    assert set(trio_toolpar.redis.__all__) == {
        "JournalUnavailable",
        "LimitMisconfigured",
        "RedisJournal",
        "RedisLimits",
        "RedisLimitStatistics",
    }
    assert RedisLimitStatistics.__module__.startswith("trio_toolpar.redis")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({}, ValueError, r"governs no resource: give caps="),
        ({"caps": {"db": 0}}, ValueError, r"caps\['db'\] must be a whole number >= 1, not 0"),
        ({"caps": {"db": True}}, TypeError, r"caps\['db'\] must be a whole number >= 1, not True"),
        ({"caps": {"": 1}}, ValueError, r"a key of caps must be a non-empty string, not ''"),
        ({"caps": {1: 1}}, TypeError, r"a key of caps must be a non-empty string, not 1"),
        ({"caps": [1]}, TypeError, r"caps must be a mapping of resource names to caps, not \[1\]"),
        ({"rates": {"db": 3}}, TypeError, r"rates\['db'\] must be a trio_toolpar.Rate, not 3"),
        ({"rates": {"": Rate(per_second=1)}}, ValueError, r"a key of rates must be a non-empty string"),
        ({"caps": {"db": 1}, "namespace": ""}, ValueError, r"namespace must be a non-empty string"),
        ({"caps": {"db": 1}, "lease": -1}, ValueError, r"lease must be a positive, finite number of seconds"),
        ({"caps": {"db": 1}, "lease": math.inf}, ValueError, r"lease must be a positive, finite"),
        ({"caps": {"db": 1}, "lease": math.nan}, ValueError, r"lease must be a positive, finite"),
        ({"caps": {"db": 1}, "timeout": 0}, ValueError, r"timeout must be a positive"),
        ({"caps": {"db": 1}, "lease": 1.0, "timeout": 0.5}, ValueError, r"under half the lease .* lower timeout"),
        ({"caps": {"db": 1}, "on_unavailable": "maybe"}, ValueError, r"on_unavailable must be 'fail' or 'local'"),
    ],
)
def test_options_that_cannot_work_are_refused(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        RedisLimits(CLIENT, **options)


def test_a_weight_of_the_wrong_type_is_a_type_error() -> None:
    limits = RedisLimits(CLIENT, caps={"db": 3})
    with pytest.raises(TypeError, match=r"weight must be a whole number >= 1, not True"):
        limits.hold("db", weight=True, call_id="c1")


def test_the_client_must_be_a_coredis_client() -> None:
    with pytest.raises(TypeError, match=r"client must be a coredis\.Redis client"):
        RedisLimits(object(), caps={"db": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("resource", "weight", "message"),
    [
        ("jira", 1, r"does not govern 'jira'; it governs \['api', 'db'\]"),
        ("db", 0, r"weight must be a whole number >= 1, not 0"),
        ("db", 4, r"weight 4 can never fit the shared cap 3 of 'db'; raise the cap"),
        ("api", 3, r"weight 3 exceeds the burst 2 of the rate of 'api'; raise the burst"),
    ],
)
def test_holds_that_could_never_start_are_refused_at_once(resource: str, weight: int, message: str) -> None:
    limits = RedisLimits(CLIENT, caps={"db": 3}, rates={"api": Rate(per_second=1, burst=2)})
    with pytest.raises(ValueError, match=message):
        limits.hold(resource, weight=weight, call_id="c1")


async def test_a_pause_must_be_a_positive_length() -> None:
    limits = RedisLimits(CLIENT, caps={"db": 3})
    with pytest.raises(ValueError, match="seconds must be a positive, finite number"):
        await limits.pause("db", -1)
