"""Tests that MUST fail (test_must_fail_*), each followed by a probe that nothing leaked.

tests/test_async_setups.py asserts that each test_must_fail_* test fails with its message, and
that every other test passes.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.db import connections
from library.factories import AuthorFactory
from library.models import Author

from tests.helpers import EMPTY, arow_counts


def create_author(name: str) -> Author:
    return Author.objects.create(name=name)


def create_author_quietly(name: str) -> None:
    """For a thread of the test, which, as a worker thread would, swallows its errors (the guard's too)."""
    with contextlib.suppress(Exception):
        create_author(name)


def create_author_and_close(name: str) -> Author:
    """For a thread of its own: its connection is closed, or the test database could not be dropped."""
    try:
        return Author.objects.create(name=name)
    finally:
        connections.close_all()


@pytest.mark.django_db
async def test_probe_empty_at_start() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_must_fail_wrong_query_count(django_assert_num_queries) -> None:
    async with django_assert_num_queries(1):
        await Author.objects.acount()
        await Author.objects.acount()


@pytest.mark.django_db
async def test_must_fail_wrong_count_in_a_plain_with(django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        await Author.objects.acount()
        await Author.objects.acount()


@pytest.mark.django_db
async def test_must_fail_orm_write_with_thread_sensitive_false() -> None:
    await sync_to_async(create_author, thread_sensitive=False)("leaked from an executor thread?")


@pytest.mark.django_db
async def test_probe_after_thread_sensitive_false() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_must_fail_orm_write_in_a_thread_sensitive_context() -> None:
    await AuthorFactory.create(name="before the context")
    async with ThreadSensitiveContext():
        await AuthorFactory.create(name="leaked from a ThreadSensitiveContext?")


@pytest.mark.django_db
async def test_probe_after_thread_sensitive_context() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_must_fail_orm_write_in_a_thread_of_the_test() -> None:
    thread = threading.Thread(target=create_author_quietly, args=("leaked from a thread?",))
    thread.start()
    await sync_to_async(thread.join, thread_sensitive=False)()


@pytest.mark.django_db
async def test_probe_after_a_thread_of_the_test() -> None:
    assert await arow_counts() == EMPTY


async def test_must_fail_database_access_without_the_mark() -> None:
    await Author.objects.acount()


@pytest.mark.django_db(transaction=True)
async def test_thread_sensitive_false_is_fine_with_transaction_true() -> None:
    await sync_to_async(create_author_and_close, thread_sensitive=False)("committed from an executor thread")
    assert await Author.objects.acount() == 1


@pytest.mark.django_db
async def test_probe_empty_at_end() -> None:
    assert await arow_counts() == EMPTY
