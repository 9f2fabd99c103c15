"""Sync tests next to the async ones: leak probes, sync fixtures, the sync test client, query counts."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from library.factories import AuthorFactory, BookWithReviewsFactory
from library.models import Author, Book

from tests.helpers import EMPTY, committed_authors, row_counts


@pytest.mark.django_db
def test_probe_empty_at_start() -> None:
    assert row_counts() == EMPTY


@pytest.fixture
def book(db: None) -> Book:
    return async_to_sync(BookWithReviewsFactory.create)(title="Middlemarch")


@pytest.mark.django_db
def test_sync_orm_and_factories(book: Book) -> None:
    Author.objects.create(name="George Eliot")
    assert row_counts() == {**EMPTY, "author": 2, "book": 1, "review": 2, "user": 2}


@pytest.mark.django_db
def test_probe_after_sync_rows() -> None:
    assert row_counts() == EMPTY


@pytest.mark.django_db
def test_sync_client_to_an_async_view_sees_the_rows(client: Client, book: Book) -> None:
    response = client.get(f"/books/{book.pk}/")
    assert response.status_code == 200
    assert response.json()["title"] == "Middlemarch"
    assert response.json()["reviews"] == 2


@pytest.mark.django_db
def test_sync_client_to_a_sync_view(client: Client) -> None:
    async_to_sync(AuthorFactory.create_batch)(3)
    assert client.get("/authors/").json()["count"] == 3


@pytest.mark.django_db
def test_plain_with_django_assert_num_queries_in_a_sync_test(django_assert_num_queries) -> None:
    with django_assert_num_queries(2):
        Author.objects.count()
        Book.objects.count()


@pytest.mark.django_db
def test_plain_with_django_assert_max_num_queries_in_a_sync_test(django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(2):
        Author.objects.create(name="one query")


@pytest.mark.django_db(transaction=True)
def test_transaction_true_commits_in_a_sync_test() -> None:
    Author.objects.create(name="committed")
    assert committed_authors() == 1


@pytest.mark.django_db
def test_probe_empty_at_end() -> None:
    assert row_counts() == EMPTY
