"""pytest-factoryboy: ``register()`` turns the async factories into fixtures.

Unmarked async tests (the plugin, or pytest-asyncio in auto mode, runs them) and sync tests. The
model fixtures are saved instances, made on the test's connection, and rolled back with the test.
"""

from __future__ import annotations

import factory
import pytest
from library.factories import AuthorFactory, BookFactory, ReviewFactory, TagFactory, UserFactory
from library.models import Author, Book, Review, Tag
from pytest_factoryboy import LazyFixture, register

from tests.helpers import EMPTY, User, arow_counts, committed_authors, row_counts


class ReviewedBookFactory(BookFactory):
    """A book whose async post-generation hook makes its reviews."""

    @factory.post_generation
    async def reviews(self, create: bool, extracted: int | None, **kwargs: object) -> None:
        if create:
            await ReviewFactory.create_batch(extracted or 2, book=self)


register(AuthorFactory)  # author_factory, author, author__name
register(AuthorFactory, "ada", name="Ada Lovelace")
register(TagFactory)
register(BookFactory)  # book: its author (and editor) is the `author` fixture
register(BookFactory, "notes", author=LazyFixture("ada"), title="Notes")
register(ReviewedBookFactory, "reviewed_book")
register(UserFactory, "user")  # an AuthUserFactory looks its model up at each use: name the fixture


@pytest.mark.django_db
async def test_probe_empty_at_start() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_model_fixtures_are_saved_objects_in_an_async_test(author: Author, ada: Author, book: Book) -> None:
    assert await Author.objects.filter(pk=author.pk).aexists()
    assert (await Author.objects.aget(pk=ada.pk)).name == "Ada Lovelace"
    fetched = await Book.objects.select_related("author").aget(pk=book.pk)
    assert fetched.author == author
    assert book.editor == author  # pytest-factoryboy makes every SubFactory its model's fixture
    assert await arow_counts() == {**EMPTY, "author": 2, "book": 1}


@pytest.mark.django_db
def test_model_fixtures_are_saved_objects_in_a_sync_test(author: Author, book: Book) -> None:
    assert Book.objects.get(pk=book.pk).author_id == author.pk
    assert row_counts() == {**EMPTY, "author": 1, "book": 1}


@pytest.mark.django_db
async def test_probe_after_model_fixtures() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
@pytest.mark.parametrize("author__name", ["Ursula K. Le Guin", "Octavia E. Butler"])
async def test_an_attribute_overridden_by_parametrization(author: Author, author__name: str) -> None:
    assert author.name == author__name
    assert await Author.objects.filter(name=author__name).acount() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("book__title", "book__editor"), [("Kindred", None)])
def test_a_subfactory_overridden_by_parametrization(book: Book) -> None:
    assert Book.objects.get(editor=None).title == "Kindred"
    assert row_counts() == {**EMPTY, "author": 1, "book": 1}


@pytest.mark.django_db
async def test_a_lazy_fixture_in_register(notes: Book, ada: Author) -> None:
    assert notes.author == ada
    assert await Book.objects.filter(author__name="Ada Lovelace", title="Notes").aexists()


@pytest.mark.django_db
@pytest.mark.parametrize("book__tags", [LazyFixture(lambda tag: [tag])])
async def test_a_lazy_fixture_for_a_post_generation_declaration(book: Book, tag: Tag) -> None:
    assert [t async for t in book.tags.all()] == [tag]


@pytest.mark.django_db
async def test_an_async_post_generation_hook_is_awaited(reviewed_book: Book) -> None:
    assert await Review.objects.filter(book=reviewed_book).acount() == 2


@pytest.mark.django_db
async def test_the_factory_fixture_is_the_async_factory(author_factory: type[AuthorFactory]) -> None:
    assert author_factory is AuthorFactory
    await author_factory.create_batch(2)
    assert await Author.objects.acount() == 2


@pytest.mark.django_db
async def test_an_auth_user_factory_registered_by_name(user: User) -> None:
    assert await User.objects.filter(pk=user.pk, is_active=True).aexists()


@pytest.mark.django_db
async def test_probe_after_parametrized_fixtures() -> None:
    assert await arow_counts() == EMPTY


@pytest.mark.django_db
async def test_must_fail_model_fixture_from_async_code(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("author")


@pytest.mark.django_db(transaction=True)
async def test_model_fixtures_commit_in_a_transaction_true_test(author: Author) -> None:
    assert committed_authors() == 1


@pytest.mark.django_db
async def test_probe_empty_at_end() -> None:
    assert await arow_counts() == EMPTY
