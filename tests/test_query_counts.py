"""Counting the queries of awaited calls: pytest-django's fixtures and Django's assertNumQueries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import TestCase

from app.factories import FriendFactory, UserFactory
from app.factory.testing import in_orm_thread
from app.models import User

pytestmark = pytest.mark.django_db


async def test_async_with_django_assert_num_queries(django_assert_num_queries: Callable[..., Any]) -> None:
    async with django_assert_num_queries(1):
        await User.objects.acount()
    # Inside the test's transaction a call runs in a savepoint, so that a failing call leaves the
    # test's transaction usable: SAVEPOINT, INSERT, RELEASE SAVEPOINT.
    async with django_assert_num_queries(4) as captured:
        await UserFactory.create(name="Ada")
        await User.objects.filter(name="Ada").aexists()
    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    assert statements == ["SAVEPOINT", "INSERT", "RELEASE", "SELECT"]


async def test_async_with_counts_every_query_of_a_factory_graph(
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    async with django_assert_max_num_queries(10) as captured:
        await FriendFactory.create_batch(2)
    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 6  # two friendships, four users


async def test_a_wrong_count_fails_with_pytest_djangos_message(django_assert_num_queries: Callable[..., Any]) -> None:
    with pytest.raises(pytest.fail.Exception, match="Expected to perform 3 queries but 1 was done"):
        async with django_assert_num_queries(3):
            await User.objects.acount()


async def test_max_num_queries_fails_above_the_bound(django_assert_max_num_queries: Callable[..., Any]) -> None:
    with pytest.raises(pytest.fail.Exception, match="Expected to perform 1 queries or less but 2 were done"):
        async with django_assert_max_num_queries(1):
            await User.objects.acount()
            await User.objects.acount()


async def test_plain_with_in_an_async_test_says_to_use_async_with(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    fix = r"Fix: `async with django_assert_num_queries\(\.\.\.\):`"
    with pytest.raises(RuntimeError, match=fix), django_assert_num_queries(1):
        pass


def test_plain_with_still_works_in_sync_tests(django_assert_num_queries: Callable[..., Any]) -> None:
    with django_assert_num_queries(1):
        User.objects.count()


class AssertNumQueriesInTestCase(TestCase):
    """Django's own TestCase: async test methods run through async_to_sync, on the test's connection."""

    async def test_in_orm_thread_counts_awaited_queries(self) -> None:
        async with in_orm_thread(self.assertNumQueries, 3):  # SAVEPOINT, INSERT, RELEASE SAVEPOINT
            await UserFactory.create()
        self.assertEqual(await User.objects.acount(), 1)

    async def test_in_orm_thread_reports_djangos_failure(self) -> None:
        with self.assertRaisesMessage(AssertionError, "2 != 1 : 2 queries executed, 1 expected"):
            async with in_orm_thread(self.assertNumQueries, 1):
                await User.objects.acount()
                await User.objects.acount()
