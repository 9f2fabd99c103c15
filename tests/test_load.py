"""Load: a thousand concurrent calls, exact rows, and an event loop that keeps running."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from typing import Any

import factory
import pytest

from app.factories import FriendFactory
from app.factory import AsyncFactory
from app.models import Friend, User
from tests.testapp.models import Company

pytestmark = pytest.mark.django_db(transaction=True)

# Generous: the machine is shared and noisy. The measured figure is printed.
LOOP_GAP_BOUND_S = 0.25


class SequencedUserFactory(AsyncFactory[User]):
    name = factory.Sequence(lambda n: f"load user {n}")

    class Meta:
        model = User


class KeyedCompanyFactory(AsyncFactory[Company]):
    class Meta:
        model = Company
        django_get_or_create = ("name",)

    name = "unused"


async def heartbeat(stop: asyncio.Event, gaps: list[float]) -> None:
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = loop.time()
        gaps.append(now - last)
        last = now


async def test_a_thousand_concurrent_creates_with_get_or_create_and_batches(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[Awaitable[Any]] = [SequencedUserFactory.create() for _ in range(1000)]
    calls += [KeyedCompanyFactory.create(name=f"key {i % 10}") for i in range(200)]
    calls += [FriendFactory.create_batch(5) for _ in range(20)]
    random.Random(0).shuffle(calls)

    stop, gaps = asyncio.Event(), []
    beat = asyncio.create_task(heartbeat(stop, gaps))
    results = await asyncio.gather(*calls)
    stop.set()
    await beat

    users = [r for r in results if isinstance(r, User)]
    assert len(users) == 1000
    assert len({u.name for u in users}) == 1000, "sequences must stay unique"
    assert await Company.objects.acount() == 10, "one row per get_or_create key"
    assert sorted([c async for c in Company.objects.values_list("name", flat=True)]) == [f"key {i}" for i in range(10)]
    assert await Friend.objects.acount() == 100
    assert await User.objects.acount() == 1000 + 200
    # The first gap is the loop tick in which gather starts all 1,220 tasks (each one's first
    # step submits its call to the ORM thread); after that the loop only waits for results.
    startup, longest = gaps[0], max(gaps[1:])
    with capsys.disabled():
        print(
            f"\nload: 1220 concurrent calls, {len(gaps)} heartbeats; longest event-loop gap while the "
            f"database worked {longest * 1000:.1f} ms (the tick starting all tasks: {startup * 1000:.1f} ms)"
        )
    assert longest < LOOP_GAP_BOUND_S
