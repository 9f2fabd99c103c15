"""Async tests share pytest-django's rolled-back transaction (app.factory.pytest_plugin)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connection

from app.factories import FriendFactory, UserFactory
from app.models import Friend, User

created_by_first_test: list[int] = []


@pytest.fixture
async def two_friends() -> list[Friend]:
    return await FriendFactory.create_batch(2)


@pytest.fixture
async def named_user() -> AsyncIterator[User]:
    user = await UserFactory.create(name="from an async generator fixture")
    yield user
    # Teardown runs before the rollback: the row is still there.
    assert await User.objects.filter(pk=user.pk).aexists()


@pytest.mark.django_db
async def test_first_creates_rows(two_friends: list[Friend], named_user: User) -> None:
    created_by_first_test.extend(u.pk for f in two_friends for u in (f.user, f.friend))
    created_by_first_test.append(named_user.pk)
    assert await User.objects.acount() == 5
    assert await Friend.objects.acount() == 2


@pytest.mark.django_db
async def test_second_does_not_see_them() -> None:
    assert created_by_first_test, "test_first_creates_rows must run first"
    assert await User.objects.acount() == 0
    assert not await User.objects.filter(pk__in=created_by_first_test).aexists()


@pytest.mark.django_db
async def test_async_orm_runs_inside_the_test_transaction() -> None:
    in_atomic = await sync_to_async(lambda: connection.in_atomic_block)()
    assert in_atomic, "the async ORM must use the connection that holds the test's transaction"


@pytest.mark.django_db(transaction=True)
async def test_transaction_true_still_commits() -> None:
    await UserFactory.create()
    in_atomic = await sync_to_async(lambda: connection.in_atomic_block)()
    assert not in_atomic
    assert await User.objects.acount() == 1


@pytest.mark.django_db(transaction=True)
async def test_transactional_tests_are_flushed_too() -> None:
    assert await User.objects.acount() == 0


# --- one loop per test, shared with its async fixtures ------------------------------------------


@pytest.fixture
async def fixture_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


async def test_a_test_and_its_async_fixtures_share_one_loop(fixture_loop: asyncio.AbstractEventLoop) -> None:
    assert asyncio.get_running_loop() is fixture_loop


class TestAsyncMethods:
    @pytest.fixture
    async def own_user(self) -> User:
        self.made_by_fixture = True
        return await UserFactory.create(name="from a method fixture")

    @pytest.mark.django_db
    async def test_a_method_fixture_is_bound_to_the_test_instance(self, own_user: User) -> None:
        assert self.made_by_fixture
        assert await User.objects.filter(pk=own_user.pk).aexists()


# --- tests that pytest-asyncio runs (marked), mixed with ours -------------------------------------


@pytest_asyncio.fixture
async def marked_fixture_user() -> AsyncIterator[User]:
    user = await UserFactory.create(name="from a pytest-asyncio fixture")
    yield user
    assert await User.objects.filter(pk=user.pk).aexists()


@pytest.mark.asyncio
@pytest.mark.django_db
async def test_marked_test_runs_inside_the_test_transaction(marked_fixture_user: User) -> None:
    created_by_first_test.append(marked_fixture_user.pk)
    await FriendFactory.create_batch(2)
    assert await User.objects.acount() == 5
    assert await sync_to_async(lambda: connection.in_atomic_block)()


@pytest.mark.django_db
async def test_unmarked_test_after_a_marked_one_sees_no_rows() -> None:
    assert await User.objects.acount() == 0


@pytest.mark.django_db
def test_sync_test_after_a_marked_one_sees_no_rows() -> None:
    assert User.objects.count() == 0


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.django_db
async def test_marked_test_on_a_module_loop_is_rolled_back_too() -> None:
    await UserFactory.create_batch(3)
    assert await User.objects.acount() == 3


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.django_db
async def test_next_test_on_the_module_loop_sees_no_rows() -> None:
    assert await User.objects.acount() == 0


@pytest.fixture
def sync_user(db: None) -> User:
    return User.objects.create(name="from a sync fixture")


@pytest.mark.asyncio
async def test_sync_and_async_fixtures_see_each_others_rows(sync_user: User, marked_fixture_user: User) -> None:
    names = {name async for name in User.objects.values_list("name", flat=True)}
    assert names == {"from a sync fixture", "from a pytest-asyncio fixture"}
