"""Query counting around awaited ORM and factory calls: ``with`` or ``async with django_assert_num_queries(n)``.

Inside a rolled-back test a factory call that makes several rows runs in a savepoint, so the
counts include SAVEPOINT and RELEASE SAVEPOINT, as with Django's assertNumQueries.
"""

from __future__ import annotations

import pytest
from django.test import AsyncClient
from library.factories import AuthorFactory, BookFactory, UserFactory
from library.models import Author, Book

from tests.helpers import EMPTY, arow_counts


@pytest.mark.django_db
async def test_probe_empty_at_start() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_awaited_orm_calls(django_assert_num_queries) -> None:
    await AuthorFactory.create_batch(2)
    async with django_assert_num_queries(3):
        assert await Author.objects.acount() == 2
        assert [a async for a in Author.objects.all()]
        await Author.objects.filter(name="nobody").adelete()


@pytest.mark.django_db
async def test_factory_calls(django_assert_num_queries) -> None:
    async with django_assert_num_queries(5):  # SAVEPOINT, 3 INSERTs, RELEASE SAVEPOINT
        await AuthorFactory.create_batch(3)
    # SAVEPOINT, the bulk INSERT in a savepoint of its own (to tell which object fails, if one does), RELEASE
    async with django_assert_num_queries(5):
        await AuthorFactory.bulk_create_batch(3)
    async with django_assert_num_queries(4):  # SAVEPOINT, the SubFactory's INSERT, the book's, RELEASE
        await BookFactory.create()
    assert await Author.objects.acount() == 7


@pytest.mark.django_db
async def test_the_context_holds_the_captured_queries(django_assert_max_num_queries) -> None:
    # One INSERT, in a savepoint or not (whether a one-row create() needs one is the factory's business).
    async with django_assert_max_num_queries(3) as captured:
        await AuthorFactory.create(name="Captured")
    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert "library_author" in inserts[0]
    assert "Captured" in inserts[0]


@pytest.mark.django_db
async def test_max_num_queries(django_assert_max_num_queries) -> None:
    async with django_assert_max_num_queries(5):
        await UserFactory.create()
    async with django_assert_max_num_queries(1):
        await Book.objects.aexists()


@pytest.mark.django_db
async def test_queries_of_an_async_view_are_counted(async_client: AsyncClient, django_assert_num_queries) -> None:
    await BookFactory.create_batch(2)
    async with django_assert_num_queries(2):  # the list and the count
        response = await async_client.get("/books/")
    assert response.json()["count"] == 2


@pytest.mark.django_db
async def test_queries_of_a_sync_view_are_counted(async_client: AsyncClient, django_assert_num_queries) -> None:
    async with django_assert_num_queries(1):
        response = await async_client.get("/authors/")
    assert response.json() == {"count": 0, "authors": []}


@pytest.mark.django_db
async def test_plain_with_counts_awaited_calls(django_assert_num_queries, django_assert_max_num_queries) -> None:
    with django_assert_num_queries(5):  # SAVEPOINT, 3 INSERTs, RELEASE SAVEPOINT
        await AuthorFactory.create_batch(3)
    with django_assert_max_num_queries(1) as captured:
        assert await Author.objects.acount() == 3
    assert "COUNT" in captured.captured_queries[0]["sql"].upper()


@pytest.mark.django_db
async def test_plain_with_counts_the_queries_of_a_view(async_client: AsyncClient, django_assert_num_queries) -> None:
    await BookFactory.create_batch(2)
    with django_assert_num_queries(2):  # the list and the count
        response = await async_client.get("/books/")
    assert response.json()["count"] == 2


@pytest.mark.django_db
def test_plain_with_still_works_in_a_sync_test(django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        Author.objects.create(name="sync")


@pytest.mark.django_db
async def test_probe_empty_at_end() -> None:
    assert await arow_counts() == EMPTY
