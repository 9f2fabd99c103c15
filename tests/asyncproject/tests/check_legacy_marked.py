"""A legacy file, still written for pytest-asyncio (marks and pytest_asyncio fixtures), in a suite
otherwise written for the plugin: it must not leak into the unmarked files that run after it."""

from __future__ import annotations

import pytest
import pytest_asyncio
from library.factories import AuthorFactory, BookFactory, BookWithReviewsFactory, UserFactory
from library.models import Author, Book, Review

from tests.helpers import EMPTY, arow_counts

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db]


@pytest_asyncio.fixture
async def legacy_book() -> Book:
    return await BookWithReviewsFactory.create(title="Legacy")


async def test_probe_empty_at_start() -> None:
    assert await arow_counts() == EMPTY


async def test_legacy_creates_books(legacy_book: Book) -> None:
    await BookFactory.create_batch(3, author=legacy_book.author)
    assert await Book.objects.filter(author=legacy_book.author).acount() == 4
    assert await Review.objects.acount() == 2


async def test_legacy_creates_users_and_authors() -> None:
    await UserFactory.create_batch(2)
    await AuthorFactory.bulk_create_batch(4)
    assert await Author.objects.acount() == 4


async def test_probe_empty_at_end() -> None:
    assert await arow_counts() == EMPTY
