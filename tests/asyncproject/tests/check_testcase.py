"""Django's own test framework: TestCase and TransactionTestCase with async test methods.

Run with ``python manage.py test tests.check_testcase`` (Django's runner) or with pytest. Test
methods are numbered because unittest runs them in name order.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.test import TestCase, TransactionTestCase
from library.factories import AuthorFactory, BookFactory, BookWithReviewsFactory, TagFactory, UserFactory
from library.models import Author, Book, Review
from myproject.factory.testing import in_orm_thread

from tests.helpers import EMPTY, arow_counts, committed_authors, row_counts

SET_UP_ROWS = {**EMPTY, "author": 1, "book": 1, "tag": 2, "book_tags": 2, "review": 2, "user": 2}


class BookTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        tags = async_to_sync(TagFactory.create_batch)(2)
        cls.book = async_to_sync(BookWithReviewsFactory.create)(title="Beloved", tags=tags)

    async def test_1_the_async_client_sees_factory_data(self) -> None:
        response = await self.async_client.get(f"/books/{self.book.pk}/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["title"], "Beloved")
        self.assertEqual(response.json()["reviews"], 2)
        self.assertEqual(len(response.json()["tags"]), 2)

    async def test_2_factories_in_an_async_test(self) -> None:
        await BookFactory.create_batch(2, author=self.book.author)
        await AuthorFactory.bulk_create_batch(3)

        self.assertEqual(await Book.objects.filter(author_id=self.book.author_id).acount(), 3)
        self.assertEqual(await Author.objects.acount(), 4)

    async def test_3_only_set_up_test_data_rows_are_left(self) -> None:
        self.assertEqual(await arow_counts(), SET_UP_ROWS)

    async def test_4_log_in_and_write_through_a_view(self) -> None:
        user = await UserFactory.create()
        await self.async_client.aforce_login(user)

        response = await self.async_client.post(f"/books/{self.book.pk}/reviews/", {"rating": 3})

        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(await Review.objects.filter(user=user).acount(), 1)

    async def test_5_async_with_assert_num_queries(self) -> None:
        async with in_orm_thread(self.assertNumQueries, 2):
            await Book.objects.acount()
            await Author.objects.acount()
        async with in_orm_thread(self.assertNumQueries, 4):  # SAVEPOINT, the SubFactory's INSERT, the book's, RELEASE
            await BookFactory.create()
        async with in_orm_thread(self.assertNumQueries, 2):  # the view's list and count
            await self.async_client.get("/books/")

    async def test_6_a_wrong_count_fails(self) -> None:
        with self.assertRaisesRegex(AssertionError, "2 queries executed, 1 expected"):
            async with in_orm_thread(self.assertNumQueries, 1):
                await Book.objects.acount()
                await Author.objects.acount()

    def test_7_sync_test_method(self) -> None:
        self.assertEqual(row_counts(), SET_UP_ROWS)
        response = self.client.get(f"/books/{self.book.pk}/")
        self.assertEqual(response.json()["title"], "Beloved")

    async def test_8_only_set_up_test_data_rows_are_left(self) -> None:
        self.assertEqual(await arow_counts(), SET_UP_ROWS)


class CommittingTests(TransactionTestCase):
    async def test_1_commits(self) -> None:
        await AuthorFactory.create_batch(2)
        self.assertEqual(committed_authors(), 2)

    async def test_2_the_table_was_flushed(self) -> None:
        self.assertEqual(await arow_counts(), EMPTY)
        self.assertEqual(committed_authors(), 0)
