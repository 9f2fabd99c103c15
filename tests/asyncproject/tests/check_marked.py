"""pytest-asyncio style: @pytest.mark.asyncio tests and @pytest_asyncio.fixture fixtures (strict or auto mode).

Written as a project that already used pytest-asyncio writes its tests, before it added the one
plugin line to conftest.py. Every django_db test here must be rolled back like a sync one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test import AsyncClient
from library.factories import (
    AuthorFactory,
    AuthorWithBookFactory,
    BookFactory,
    BookWithReviewsFactory,
    TagFactory,
    UserFactory,
)
from library.models import Author, Book, Review, Tag
from pytest_factoryboy import register

from tests.helpers import EMPTY, arow_counts, committed_authors, row_counts

register(AuthorFactory, "registered_author")

torn_down: list[int] = []


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_probe_empty_at_start() -> None:
    assert await arow_counts() == EMPTY


@pytest_asyncio.fixture
async def author() -> Author:
    return await AuthorFactory.create(name="Ursula K. Le Guin")


@pytest_asyncio.fixture
async def book(author: Author) -> AsyncIterator[Book]:
    book = await BookFactory.create(author=author, title="The Dispossessed", tags=await TagFactory.create_batch(2))
    yield book
    # Teardown runs before the rollback: the row is still there, and what it writes is rolled back too.
    assert await Book.objects.filter(pk=book.pk).aexists()
    await Book.objects.filter(pk=book.pk).aupdate(title="torn down")
    await AuthorFactory.create(name="made in a teardown")
    torn_down.append(book.pk)


@pytest.fixture
def sync_author(db: None) -> Author:
    return Author.objects.create(name="Made by a sync fixture")


@pytest_asyncio.fixture
async def running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_create_and_create_batch_with_a_subfactory() -> None:
    book = await BookFactory.create()
    more = await BookFactory.create_batch(3, author=book.author)

    assert {b.author_id for b in more} == {book.author_id}
    assert await Author.objects.acount() == 1
    assert await Book.objects.acount() == 4


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_bulk_create_batch() -> None:
    books = await BookFactory.bulk_create_batch(5)

    assert all(b.pk for b in books)
    assert await Book.objects.acount() == 5
    assert await Author.objects.acount() == 5


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_related_factories_and_an_optional_subfactory() -> None:
    reviewed = await BookWithReviewsFactory.create(editor=True)
    author = await AuthorWithBookFactory.create()

    assert await Review.objects.filter(book=reviewed).acount() == 2
    assert await Book.objects.filter(author=author).acount() == 1
    assert reviewed.editor_id is not None
    assert await arow_counts() == {**EMPTY, "author": 3, "book": 2, "review": 2, "user": 2}


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_async_fixture_and_async_generator_fixture(book: Book, author: Author) -> None:
    assert book.author_id == author.pk
    fetched = await Book.objects.select_related("author").aget(pk=book.pk)
    assert fetched.author.name == "Ursula K. Le Guin"
    assert sorted([t.name async for t in fetched.tags.all()]) == sorted([t.name async for t in Tag.objects.all()])
    assert await arow_counts() == {**EMPTY, "author": 1, "book": 1, "tag": 2, "book_tags": 2}


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_probe_after_a_generator_fixture_teardown() -> None:
    assert torn_down, "test_async_fixture_and_async_generator_fixture must run first and tear down"
    assert not await Book.objects.filter(pk__in=torn_down).aexists()
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_sync_fixture_rows_are_seen_by_the_async_test(sync_author: Author) -> None:
    fetched = await Author.objects.aget(pk=sync_author.pk)
    book = await BookFactory.create(author=fetched)

    assert fetched.name == "Made by a sync fixture"
    assert await Book.objects.filter(author_id=sync_author.pk).aget() == book


@pytest.mark.django_db
def test_async_fixture_rows_are_seen_by_a_sync_test(book: Book) -> None:
    assert Book.objects.get(pk=book.pk).title == "The Dispossessed"
    assert row_counts() == {**EMPTY, "author": 1, "book": 1, "tag": 2, "book_tags": 2}


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_a_fixture_and_its_test_share_one_loop(running_loop: asyncio.AbstractEventLoop) -> None:
    assert asyncio.get_running_loop() is running_loop
    await AuthorFactory.create()
    assert await Author.objects.acount() == 1


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_async_orm_runs_in_the_rolled_back_test_transaction() -> None:
    assert await sync_to_async(lambda: connection.in_atomic_block)()


@pytest.mark.django_db
@pytest.mark.asyncio
@pytest.mark.parametrize("size", [1, 3, 7])
async def test_parametrized_batches_do_not_add_up(size: int) -> None:
    await AuthorFactory.create_batch(size)
    assert await Author.objects.acount() == size


@pytest.mark.django_db
class TestInAClass:
    @pytest.mark.asyncio
    async def test_creates(self) -> None:
        await BookWithReviewsFactory.create()
        assert await Review.objects.acount() == 2

    @pytest.mark.asyncio
    async def test_sees_nothing_from_the_previous_method(self) -> None:
        assert await arow_counts() == EMPTY

    def test_sync_method_sees_nothing_either(self) -> None:
        assert row_counts() == EMPTY


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_async_client_fixture_and_async_views(async_client: AsyncClient, book: Book) -> None:
    await BookFactory.create(title="Another book")

    detail = await async_client.get(f"/books/{book.pk}/")
    listing = await async_client.get("/books/")

    assert detail.status_code == 200
    assert detail.json()["title"] == "The Dispossessed"
    assert detail.json()["author"] == "Ursula K. Le Guin"
    assert len(detail.json()["tags"]) == 2
    assert listing.json() == {"count": 2, "titles": ["Another book", "The Dispossessed"]}


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_async_client_and_a_sync_view(async_client: AsyncClient, sync_author: Author) -> None:
    await AuthorWithBookFactory.create(name="Zadie Smith")

    response = await async_client.get("/authors/")

    assert response.json()["count"] == 2
    assert response.json()["authors"] == [
        {"name": "Made by a sync fixture", "books_written": 0},
        {"name": "Zadie Smith", "books_written": 1},
    ]


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_django_async_client_logs_in_and_writes_through_a_view(book: Book) -> None:
    user = await UserFactory.create()
    client = AsyncClient()
    await client.aforce_login(user)

    created = await client.post(f"/books/{book.pk}/reviews/", {"rating": 4})
    detail = await client.get(f"/books/{book.pk}/")

    assert created.status_code == 201, created.content
    review = await Review.objects.select_related("user").aget(pk=created.json()["id"])
    assert review.user == user
    assert detail.json()["reviews"] == 1


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_a_pytest_factoryboy_model_fixture(registered_author: Author, book: Book) -> None:
    assert await Author.objects.filter(pk=registered_author.pk).aexists()
    assert await Author.objects.acount() == 2


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_plain_with_django_assert_num_queries(django_assert_num_queries) -> None:
    with django_assert_num_queries(4):  # SAVEPOINT, the SubFactory's INSERT, the book's, RELEASE
        await BookFactory.create()


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_probe_after_the_client_tests() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_transaction_true_commits() -> None:
    await AuthorFactory.create_batch(2)

    assert not await sync_to_async(lambda: connection.in_atomic_block)()
    assert committed_authors() == 2


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_probe_after_transaction_true() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop_scope_is_rolled_back_too() -> None:
    await BookFactory.create_batch(2)
    assert await Book.objects.acount() == 2


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_async_with_django_assert_num_queries(django_assert_num_queries, django_assert_max_num_queries) -> None:
    async with django_assert_num_queries(4):  # SAVEPOINT, the SubFactory's INSERT, the book's, RELEASE
        await BookFactory.create()
    async with django_assert_num_queries(2):
        await Author.objects.acount()
        await Book.objects.acount()
    async with django_assert_max_num_queries(2):
        await Author.objects.afirst()


@pytest.mark.django_db
def test_sync_factory_call_through_async_to_sync() -> None:
    book = async_to_sync(BookFactory.create)(title="sync")
    assert Book.objects.get().title == "sync"
    assert book.author_id == Author.objects.get().pk


@pytest.mark.django_db
@pytest.mark.asyncio
async def test_probe_empty_at_end() -> None:
    assert await arow_counts() == EMPTY
