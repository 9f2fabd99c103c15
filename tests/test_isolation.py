"""Async tests share pytest-django's rolled-back transaction (app.factory.pytest_plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
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
