"""anyio style: ``@pytest.mark.anyio`` tests and their ``@pytest.fixture`` async fixtures, run by anyio.

anyio runs the test and its async fixtures on one loop of its own; every django_db test here must
be rolled back like a sync one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import anyio
import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from library.factories import AuthorFactory, BookFactory, TagFactory
from library.models import Author, Book, Tag
from pytest_factoryboy import register

from tests.helpers import EMPTY, arow_counts, committed_authors, row_counts

pytestmark = pytest.mark.anyio

register(AuthorFactory, "registered_author")

torn_down: list[int] = []


@pytest.fixture
def anyio_backend() -> str:
    """Django's async ORM needs asyncio (anyio's trio backend cannot run it)."""
    return "asyncio"


@pytest.fixture
async def book() -> AsyncIterator[Book]:
    book = await BookFactory.create(title="The Left Hand of Darkness")
    yield book
    # Teardown runs before the rollback: the row is still there, and what it writes is rolled back too.
    assert await Book.objects.filter(pk=book.pk).aexists()
    await AuthorFactory.create(name="made in a teardown")
    torn_down.append(book.pk)


@pytest.fixture
async def running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.fixture
async def background_tag() -> AsyncIterator[asyncio.Task[Tag]]:
    """A task started in the fixture's loop, awaited by the test: one loop for both."""
    task = asyncio.create_task(TagFactory.create(name="from a background task"))
    yield task
    task.cancel()


@pytest.mark.django_db
async def test_probe_empty_at_start() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_a_fixture_and_its_test_share_anyios_loop(
    running_loop: asyncio.AbstractEventLoop, background_tag: asyncio.Task[Tag]
) -> None:
    assert asyncio.get_running_loop() is running_loop
    tag = await background_tag
    assert await Tag.objects.aget() == tag


@pytest.mark.django_db
async def test_async_generator_fixture(book: Book) -> None:
    fetched = await Book.objects.select_related("author").aget(pk=book.pk)
    assert fetched.title == "The Left Hand of Darkness"
    assert await arow_counts() == {**EMPTY, "author": 1, "book": 1}


@pytest.mark.django_db
async def test_probe_after_a_generator_fixture_teardown() -> None:
    assert torn_down, "test_async_generator_fixture must run first and tear down"
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_factories_in_an_anyio_task_group() -> None:
    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(BookFactory.create)
    assert await Book.objects.acount() == 3
    assert await sync_to_async(lambda: connection.in_atomic_block)()


@pytest.mark.django_db
def test_async_fixture_rows_are_seen_by_a_sync_test(book: Book) -> None:
    assert Book.objects.get(pk=book.pk).title == "The Left Hand of Darkness"
    assert row_counts() == {**EMPTY, "author": 1, "book": 1}


@pytest.mark.django_db
async def test_a_pytest_factoryboy_model_fixture(registered_author: Author) -> None:
    assert await Author.objects.filter(pk=registered_author.pk).aexists()


@pytest.mark.django_db
async def test_plain_with_django_assert_num_queries(django_assert_num_queries) -> None:
    with django_assert_num_queries(2):
        await Author.objects.acount()
        await Book.objects.acount()


@pytest.mark.django_db
async def test_probe_after_the_rows() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db(transaction=True)
async def test_transaction_true_commits() -> None:
    await AuthorFactory.create_batch(2)
    assert committed_authors() == 2


@pytest.mark.django_db
async def test_probe_empty_at_end() -> None:
    assert await arow_counts() == EMPTY
