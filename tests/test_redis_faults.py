"""Shared limits under faults and misconfiguration, against a real redis-server.

Keys that cannot collide, caps that must agree, credentials that are wrong,
a Redis that is down or stalls for longer than a lease. Real time, because
Redis's clock is real: every wait is bounded by ``trio.fail_after`` and the
bounds say "not before" and "not long after", never how fast.
"""

from __future__ import annotations

import uuid
from typing import Any

import coredis
import pytest
import trio
from hypothesis import example, given
from hypothesis import strategies as st
from redis_server import client_fixture, server_fixture

from trio_toolpar.redis import RedisLimits
from trio_toolpar.redis._scripts import ResourceKeys

server = pytest.fixture(server_fixture, name="server")
client = pytest.fixture(client_fixture, name="client")


def namespace() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


# -- keys: one (namespace, resource) pair, one set of keys ----------------------------------

NAMES = st.text(alphabet=":\\sem{}a", min_size=1, max_size=6)


def every_key(keys: ResourceKeys, tokens: list[str]) -> set[str]:
    return {*keys.all(), *(keys.wake(token) for token in tokens)}


def splits(text: str) -> set[tuple[str, str]]:
    """Every (namespace, resource) that joined with ``:sem:`` gives ``text``: the pairs plain joining confuses."""
    marker = ":sem:"
    at = [i for i in range(len(text)) if text.startswith(marker, i)]
    return {(text[:i], text[i + len(marker) :]) for i in at if i > 0 and i + len(marker) < len(text)}


@given(
    st.lists(NAMES, min_size=2, max_size=4), st.lists(st.tuples(NAMES, NAMES), max_size=2), st.lists(NAMES, max_size=3)
)
@example(["app", "x", "y"], [], [])  # the pairs: (app, x:sem:y) and (app:sem:x, y)
def test_distinct_namespace_and_resource_pairs_share_no_key(
    parts: list[str], others: list[tuple[str, str]], tokens: list[str]
) -> None:
    pairs = sorted(splits(":sem:".join(parts)) | set(others))
    keys = {pair: every_key(ResourceKeys.of(*pair), tokens) for pair in pairs}
    for i, first in enumerate(pairs):
        for second in pairs[i + 1 :]:
            assert not keys[first] & keys[second], (first, second)


def test_plain_names_keep_their_keys() -> None:
    assert ResourceKeys.of("trio_toolpar", "datadog").prefix == "trio_toolpar:sem:datadog:"


async def test_a_colon_in_a_name_does_not_join_another_apps_semaphore(client: coredis.Redis[Any]) -> None:
    ns = namespace()
    first = RedisLimits(client, namespace=ns, caps={"x:sem:y": 1})
    second = RedisLimits(client, namespace=f"{ns}:sem:x", caps={"y": 1})
    async with first.hold("x:sem:y", call_id="a"):
        with trio.fail_after(5):  # one semaphore would make this wait for the first hold forever
            async with second.hold("y", call_id="b"):
                pass
