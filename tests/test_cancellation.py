"""Cancellation and time-outs leave only whole object graphs, and the next calls work."""

from __future__ import annotations

import asyncio
from typing import Any

import factory
import pytest

from app.factories import FriendFactory, UserFactory
from app.factory import AsyncFactory
from app.models import Friend, User
from tests.testapp.models import Address, Person

pytestmark = pytest.mark.django_db(transaction=True)


class PersonWithAddressesFactory(AsyncFactory[Person]):
    """A graph finished by an async hook: a Person always has exactly two addresses."""

    class Meta:
        model = Person
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"person {n}")

    @factory.post_generation
    async def addresses(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            await asyncio.sleep(0)  # give cancellation a chance to land inside the hook
            await Address.objects.acreate(person=self, city="first")
            await Address.objects.acreate(person=self, city="second")


async def cancel_some(make: Any, count: int) -> int:
    """Run ``count`` calls under short, varied time-outs; return how many timed out."""

    async def one(i: int) -> bool:
        try:
            await asyncio.wait_for(make(i), timeout=0.0005 * (i % 9))
        except TimeoutError:
            return True
        return False

    return sum(await asyncio.gather(*(one(i) for i in range(count))))


async def test_timeouts_around_creates_and_batches_leave_whole_friend_graphs() -> None:
    timed_out = await cancel_some(lambda i: FriendFactory.create_batch(3) if i % 2 else FriendFactory.create(), 300)
    assert timed_out > 0, "the time-outs must really cancel some calls"

    friends = await Friend.objects.acount()
    users = await User.objects.acount()
    assert users == 2 * friends, "every user belongs to exactly one friendship: no half-made graph"
    orphans = User.objects.filter(friends__isnull=True, friends_of__isnull=True)
    assert not await orphans.aexists()

    await FriendFactory.create()
    assert await Friend.objects.acount() == friends + 1


async def test_timeouts_inside_async_hooks_leave_whole_graphs() -> None:
    timed_out = await cancel_some(lambda i: PersonWithAddressesFactory.create(), 200)
    assert timed_out > 0

    people = [p async for p in Person.objects.all()]
    for person in people:
        assert await Address.objects.filter(person=person).acount() == 2, f"{person.name} is half made"
    assert await Address.objects.acount() == 2 * len(people)

    person = await PersonWithAddressesFactory.create()
    assert await Address.objects.filter(person=person).acount() == 2


async def test_a_cancelled_task_group_leaves_whole_graphs_and_the_connection_usable() -> None:
    async def burst() -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(50):
                group.create_task(FriendFactory.create())
            group.create_task(asyncio.sleep(0.001))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(burst(), timeout=0.002)
    assert await User.objects.acount() == 2 * await Friend.objects.acount()
    user = await UserFactory.create(name="after")
    assert await User.objects.filter(pk=user.pk, name="after").aexists()
