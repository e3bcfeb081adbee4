"""The model client's backoff: jitter when the server names no wait, seeded so that a run can be repeated."""

from __future__ import annotations

import random

import httpx
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from provider_fakes import FakeServer, openai_completion, slow_registry

from trio_toolpar import Executor
from trio_toolpar.agent import OpenAIChat, RequestRetry, run_agent


@given(
    failures=st.integers(1, 12),
    draw=st.floats(0.0, 1.0, exclude_max=True),
    backoff=st.floats(0.0, 10.0),
    multiplier=st.floats(1.0, 4.0),
)
def test_each_jitter_stays_in_its_range(failures: int, draw: float, backoff: float, multiplier: float) -> None:
    base = min(30.0, backoff * multiplier ** (failures - 1))
    waits = {
        jitter: RequestRetry(backoff=backoff, multiplier=multiplier, jitter=jitter).delay(failures, draw)
        for jitter in ("none", "equal", "full")
    }
    assert waits["none"] == base
    assert base / 2 <= waits["equal"] <= base
    assert 0.0 <= waits["full"] <= base
    assert waits["full"] == base * draw


def test_jitter_must_be_a_known_kind() -> None:
    with pytest.raises(ValueError, match=r"RequestRetry\.jitter must be 'equal', 'full' or 'none', not 'some'"):
        RequestRetry(jitter="some")  # type: ignore[arg-type]


async def _waits(seed: int | None) -> list[float]:
    server = FakeServer(
        [
            httpx.Response(503, text="busy"),
            httpx.Response(503, text="busy"),
            httpx.Response(200, json=openai_completion({"role": "assistant", "content": "up"}, finish_reason="stop")),
        ]
    )
    async with server.client() as http:
        retry = RequestRetry(backoff=4.0, seed=seed)
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1", stream=False, retry=retry)
        await run_agent(model, Executor(slow_registry()), "hi")
    return [b.at - a.at for a, b in zip(server.seen, server.seen[1:], strict=False)]


async def test_a_seeded_client_waits_the_same_every_run(autojump_clock: trio.testing.MockClock) -> None:
    first, again, other = await _waits(11), await _waits(11), await _waits(12)
    draws = random.Random(11)
    # Equal jitter: half of the 4 s backoff is fixed, half drawn; then half of 8 s. (Differences of
    # absolute clock readings, hence approx.)
    expected = [2.0 + 2.0 * draws.random(), 4.0 + 4.0 * draws.random()]
    assert first == pytest.approx(expected, abs=1e-9)
    assert again == pytest.approx(expected, abs=1e-9)
    assert other != pytest.approx(expected, abs=1e-3)
