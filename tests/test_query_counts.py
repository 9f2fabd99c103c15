"""Counting the queries of awaited calls: pytest-django's fixtures (with or async with), Django's assertNumQueries."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from app.factories import FriendFactory, UserFactory
from app.factory import pytest_plugin
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


async def test_plain_with_in_an_async_test_counts_the_awaited_calls(
    django_assert_num_queries: Callable[..., Any],
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    with django_assert_num_queries(4) as captured:
        await UserFactory.create(name="Ada")
        await User.objects.filter(name="Ada").aexists()
    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    assert statements == ["SAVEPOINT", "INSERT", "RELEASE", "SELECT"]
    with django_assert_max_num_queries(10) as captured:
        await FriendFactory.create_batch(2)
    assert sum(q["sql"].startswith("INSERT") for q in captured.captured_queries) == 6


async def test_a_wrong_count_in_a_plain_with_fails_with_pytest_djangos_message(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    wrong = "Expected to perform 3 queries but 1 was done"
    with pytest.raises(pytest.fail.Exception, match=wrong), django_assert_num_queries(3):
        await User.objects.acount()
    # The counter let go of the connection: the next one counts from zero.
    with django_assert_num_queries(1):
        await User.objects.acount()


async def test_plain_with_waits_for_the_orm_thread_busy_with_another_tasks_query(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    """A task's query in flight when the test enters the counter: the counter waits for it, then counts."""
    started = threading.Event()

    def slow_count() -> int:
        started.set()
        time.sleep(0.2)
        return User.objects.count()

    task = asyncio.create_task(sync_to_async(slow_count)())
    await asyncio.to_thread(started.wait)
    with django_assert_num_queries(1):
        assert await task == 0
        await User.objects.acount()


async def test_plain_with_fails_naming_the_fix_when_the_orm_thread_stays_busy(
    django_assert_num_queries: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task's call that waits for the event loop would never let the counter in: it fails instead of hanging."""
    monkeypatch.setattr(pytest_plugin, "_HOP_START_WITHIN", 0.2)
    release = asyncio.Event()

    async def hook() -> None:
        await release.wait()

    task = asyncio.create_task(sync_to_async(async_to_sync(hook))())
    await asyncio.sleep(0.05)  # the task's sync code now waits in the ORM thread for this loop
    fix = r"busy with another task's query(?s:.*)Fix: `async with django_assert_num_queries\(\.\.\.\):`"
    with pytest.raises(RuntimeError, match=fix), django_assert_num_queries(1):
        pass
    release.set()
    await task
    with django_assert_num_queries(1):
        await User.objects.acount()


def test_plain_with_still_works_in_sync_tests(django_assert_num_queries: Callable[..., Any]) -> None:
    with django_assert_num_queries(1):
        User.objects.count()


def test_plain_with_in_a_running_loop_without_the_plugins_lending_says_to_use_async_with() -> None:
    """Outside a pytest django_db test (here: a loop of a sync test), the counter cannot know the test's connection."""

    async def enter() -> None:
        with in_orm_thread(CaptureQueriesContext, connection):
            pass

    fix = r"Fix: `async with CaptureQueriesContext\(\.\.\.\):`"
    with pytest.raises(RuntimeError, match=fix):
        asyncio.run(enter())


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
