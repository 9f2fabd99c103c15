"""Session-scoped async fixtures that create rows: committed once, seen by every test.

pytest-django's pattern: the fixture requests ``django_db_setup`` and creates its rows inside
``django_db_blocker.unblock()``. Each test's own rows are rolled back; the session's stay until a
``transaction=True`` test empties the tables (pytest-django runs those last). The driver runs this
file alone, and checks that the test database is dropped at the end (the rows were committed on
the ORM thread's own connection, which the plugin closes first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from library.factories import AuthorFactory, BookFactory
from library.models import Author, Book
from pytest_django import DjangoDbBlocker

from tests.helpers import EMPTY, arow_counts, committed_authors, row_counts

SESSION_ROWS = {**EMPTY, "author": 4, "book": 2}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shelf(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> AsyncIterator[list[Book]]:
    """Run by pytest-asyncio: two books (and their authors), for the whole session."""
    with django_db_blocker.unblock():
        books = await BookFactory.create_batch(2)
    yield books
    with django_db_blocker.unblock():
        await Book.objects.filter(pk__in=[book.pk for book in books]).adelete()


@pytest.fixture(scope="session")
async def regulars(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> list[Author]:
    """Run by the plugin (an unmarked test requests it): two authors, for the whole session."""
    with django_db_blocker.unblock():
        return await AuthorFactory.create_batch(2, name="regular")


@pytest.mark.django_db
async def test_session_rows_are_seen(shelf: list[Book], regulars: list[Author]) -> None:
    assert await arow_counts() == SESSION_ROWS
    assert await Author.objects.filter(name="regular").acount() == 2


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_a_marked_test_adds_rows(shelf: list[Book]) -> None:
    await BookFactory.create_batch(2, author=shelf[0].author)
    assert await Book.objects.filter(author=shelf[0].author).acount() == 3


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_probe_only_the_session_rows_after_a_marked_test(shelf: list[Book]) -> None:
    assert await arow_counts() == SESSION_ROWS


@pytest.mark.django_db
async def test_an_unmarked_test_adds_rows(regulars: list[Author]) -> None:
    await BookFactory.create(author=regulars[0])
    assert await Book.objects.acount() == 3


@pytest.mark.django_db
async def test_probe_only_the_session_rows_after_an_unmarked_test() -> None:
    assert await arow_counts() == SESSION_ROWS


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_deleting_session_rows_is_rolled_back(shelf: list[Book]) -> None:
    await Book.objects.all().adelete()
    assert await Book.objects.acount() == 0


@pytest.mark.django_db
def test_probe_a_sync_test_sees_the_session_rows_back(shelf: list[Book]) -> None:
    assert row_counts() == SESSION_ROWS
    assert set(Book.objects.values_list("pk", flat=True)) == {book.pk for book in shelf}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_session_rows_are_committed(shelf: list[Book]) -> None:
    assert committed_authors() == 4
