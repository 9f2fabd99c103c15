"""bulk_create_batch: create_batch's objects, inserted with bulk_create, all or nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import factory
import pytest
from asgiref.sync import sync_to_async
from django.db import IntegrityError, connection, connections
from django.test.utils import CaptureQueriesContext
from factory import errors as factory_errors
from factory import random as factory_random

from app.factories import FriendFactory, ProfileFactory, UserFactory
from app.factory import AsyncFactory, BulkCreateError, bulk
from app.factory.bulk import bulk_generate
from app.models import Friend, Profile, User
from tests.bulkapp.models import (
    Author,
    Biography,
    Book,
    BookTag,
    Category,
    Comment,
    Label,
    Restaurant,
    Review,
    Settings,
    Stamped,
    Tag,
    Token,
)

pytestmark = pytest.mark.django_db

R = TypeVar("R")


class AuthorFactory(AsyncFactory[Author]):
    name = factory.Sequence(lambda n: f"author {n}")

    class Meta:
        model = Author


class BookFactory(AsyncFactory[Book]):
    author = factory.SubFactory(AuthorFactory)
    title = factory.Faker("sentence", nb_words=3)
    isbn = factory.Sequence(lambda n: f"isbn-{n}")

    class Meta:
        model = Book


class ReviewFactory(AsyncFactory[Review]):
    # The book's author is the reviewer: two parents at the same SubFactory depth, one of
    # which must be inserted before the other.
    book = factory.SubFactory(BookFactory, author=factory.SelfAttribute("..reviewer"))
    reviewer = factory.SubFactory(AuthorFactory)

    class Meta:
        model = Review


class CategoryFactory(AsyncFactory[Category]):
    name = factory.Sequence(lambda n: f"category {n}")
    parent = None

    class Meta:
        model = Category


class SubCategoryFactory(CategoryFactory):
    parent = factory.SubFactory(CategoryFactory)


class LeafCategoryFactory(CategoryFactory):
    parent = factory.SubFactory(SubCategoryFactory)


class TagFactory(AsyncFactory[Tag]):
    name = factory.Iterator(["red", "green"])

    class Meta:
        model = Tag
        django_get_or_create = ("name",)


class BookTagFactory(AsyncFactory[BookTag]):
    book = factory.SubFactory(BookFactory)
    tag = factory.SubFactory(TagFactory)

    class Meta:
        model = BookTag


class BiographyByAuthorFactory(AsyncFactory[Biography]):
    """get_or_create on a parent that bulk_create_batch has queued, not yet inserted."""

    author = factory.SubFactory(AuthorFactory)
    text = "bio"

    class Meta:
        model = Biography
        django_get_or_create = ("author",)


class RestaurantFactory(AsyncFactory[Restaurant]):
    name = "Chez Bulk"

    class Meta:
        model = Restaurant


class CommentFactory(AsyncFactory[Comment]):
    target = factory.SubFactory(AuthorFactory)
    text = factory.Sequence(lambda n: f"comment {n}")

    class Meta:
        model = Comment


class TokenFactory(AsyncFactory[Token]):
    label = factory.Sequence(lambda n: f"token {n}")

    class Meta:
        model = Token


class StampedFactory(AsyncFactory[Stamped]):
    label = factory.Sequence(lambda n: f"s{n}")

    class Meta:
        model = Stamped


class SettingsFactory(AsyncFactory[Settings]):
    owner = factory.SubFactory(AuthorFactory)
    data = factory.Dict({"theme": "dark", "slot": factory.Sequence(lambda n: n)})

    class Meta:
        model = Settings


async def inserts_during(make: Callable[[], Awaitable[R]]) -> tuple[R, list[str]]:
    """Run ``make()`` and return its result and the INSERT statements it sent (in order)."""
    # The ORM thread is pytest's (see app/factory/pytest_plugin.py): capture its connection,
    # from that thread (``connection`` is per thread).
    context = await sync_to_async(lambda: CaptureQueriesContext(connection))()
    await sync_to_async(context.__enter__)()
    try:
        result = await make()
    finally:
        await sync_to_async(context.__exit__)(None, None, None)
    queries = await sync_to_async(lambda: context.captured_queries)()
    return result, [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("INSERT")]


def table_of(insert_sql: str) -> str:
    return insert_sql.split()[2].strip('"`')


# --- what comes back ---------------------------------------------------------------------------


async def test_returns_saved_objects_with_primary_keys() -> None:
    users = await UserFactory.bulk_create_batch(20)

    assert len(users) == 20
    assert all(isinstance(u, User) for u in users)
    assert len({u.pk for u in users}) == 20
    assert all(u.pk is not None and not u._state.adding and u._state.db == "default" for u in users)
    stored = {u.pk: u.name async for u in User.objects.all()}
    assert stored == {u.pk: u.name for u in users}


async def test_zero_objects_sends_no_query() -> None:
    result, inserts = await inserts_during(lambda: UserFactory.bulk_create_batch(0))
    assert result == []
    assert inserts == []


async def test_the_same_objects_as_create_batch() -> None:
    async def make(method: str) -> list[tuple[str, str, str]]:
        factory_random.reseed_random("bulk")
        AuthorFactory.reset_sequence(0)
        BookFactory.reset_sequence(0)
        books = await getattr(BookFactory, method)(5)
        returned = [(b.title, b.isbn, b.author.name) for b in books]
        stored = [(b.title, b.isbn, b.author.name) async for b in Book.objects.select_related("author").order_by("pk")]
        assert stored == returned
        await Book.objects.all().adelete()
        await Author.objects.all().adelete()
        return returned

    created = await make("create_batch")
    bulked = await make("bulk_create_batch")
    assert bulked == created
    assert [isbn for _, isbn, _ in bulked] == [f"isbn-{n}" for n in range(5)]


async def test_sequences_advance_as_with_create_batch() -> None:
    AuthorFactory.reset_sequence(0)
    authors = await AuthorFactory.bulk_create_batch(3)
    after = await AuthorFactory.create()
    assert [a.name for a in authors] == ["author 0", "author 1", "author 2"]
    assert after.name == "author 3"


async def test_keyword_arguments_apply_to_every_object() -> None:
    authors = await AuthorFactory.bulk_create_batch(3, rank=7)
    assert [a.rank for a in authors] == [7, 7, 7]
    assert await Author.objects.filter(rank=7).acount() == 3


async def test_field_pre_save_hooks_run() -> None:
    authors = await AuthorFactory.bulk_create_batch(2)
    assert all(a.joined is not None for a in authors)  # auto_now_add, set by bulk_create


# --- parents, level by level ---------------------------------------------------------------------


async def test_subfactory_parents_are_bulk_inserted_first() -> None:
    friends, inserts = await inserts_during(lambda: FriendFactory.bulk_create_batch(30))

    assert [table_of(sql) for sql in inserts] == ["app_user", "app_friend"]
    assert await User.objects.acount() == 60
    assert await Friend.objects.acount() == 30
    pairs = {(f.user_id, f.friend_id) async for f in Friend.objects.all()}
    assert pairs == {(f.user.pk, f.friend.pk) for f in friends}
    assert all(f.pk is not None and f.user_id == f.user.pk for f in friends)


async def test_a_parent_that_depends_on_a_sibling_parent_waits_for_it() -> None:
    reviews, inserts = await inserts_during(lambda: ReviewFactory.bulk_create_batch(4))

    assert [table_of(sql) for sql in inserts] == ["bulkapp_author", "bulkapp_book", "bulkapp_review"]
    for review in reviews:
        stored = await Review.objects.select_related("book").aget(pk=review.pk)
        assert stored.reviewer_id == review.reviewer.pk
        assert stored.book.author_id == review.reviewer.pk


async def test_same_model_on_several_levels() -> None:
    leaves, inserts = await inserts_during(lambda: LeafCategoryFactory.bulk_create_batch(5))

    assert [table_of(sql) for sql in inserts] == ["bulkapp_category"] * 3
    assert await Category.objects.acount() == 15
    for leaf in leaves:
        stored = await Category.objects.select_related("parent__parent").aget(pk=leaf.pk)
        assert stored.parent is not None and stored.parent.parent is not None
        assert stored.parent.parent.parent_id is None
        assert (stored.parent.pk, stored.parent.parent.pk) == (leaf.parent.pk, leaf.parent.parent.pk)


class NamedTagFactory(AsyncFactory[Tag]):
    name = factory.Sequence(lambda n: f"tag {n}")

    class Meta:
        model = Tag


class LabelFactory(AsyncFactory[Label]):
    tag = factory.SubFactory(NamedTagFactory)

    class Meta:
        model = Label


async def test_a_foreign_key_to_another_unique_field_holds_the_parent_s_value() -> None:
    labels = await LabelFactory.bulk_create_batch(3)

    assert [label.tag_id for label in labels] == [label.tag.name for label in labels]
    stored = [pair async for pair in Label.objects.order_by("pk").values_list("tag_id", "tag__pk")]
    assert stored == [(label.tag.name, label.tag.pk) for label in labels]


async def test_one_to_one_parents() -> None:
    profiles = await ProfileFactory.bulk_create_batch(5)
    assert await User.objects.acount() == 5
    assert {p.user_id async for p in Profile.objects.all()} == {p.user.pk for p in profiles}


async def test_one_to_one_uniqueness_is_the_database_s() -> None:
    user = await UserFactory.create()
    with pytest.raises(IntegrityError):
        await ProfileFactory.bulk_create_batch(2, user=user)
    assert await Profile.objects.acount() == 0


async def test_generic_foreign_key_to_a_queued_parent() -> None:
    comments = await CommentFactory.bulk_create_batch(3)
    for comment in comments:
        stored = await Comment.objects.aget(pk=comment.pk)
        assert stored.object_id == comment.target.pk
        assert await sync_to_async(lambda c=stored: c.target)() == comment.target


async def test_non_model_sub_factories_build_as_usual() -> None:
    SettingsFactory.reset_sequence(0)
    settings = await SettingsFactory.bulk_create_batch(2)
    assert [data async for data in Settings.objects.order_by("pk").values_list("data", flat=True)] == [
        {"theme": "dark", "slot": 0},
        {"theme": "dark", "slot": 1},
    ]
    assert all(s.data["theme"] == "dark" for s in settings)


async def test_parents_given_by_the_caller_are_used_as_they_are() -> None:
    author = await AuthorFactory.create()
    books, inserts = await inserts_during(lambda: BookFactory.bulk_create_batch(3, author=author))
    assert [table_of(sql) for sql in inserts] == ["bulkapp_book"]
    assert all(b.author_id == author.pk for b in books)


# --- post-generation --------------------------------------------------------------------------


async def test_post_generation_runs_after_the_insert_with_related_objects_in_place() -> None:
    seen: list[tuple[Any, bool, int]] = []
    after: list[tuple[bool, list[Any]]] = []

    class AuthorWithBooksFactory(AuthorFactory):
        books = factory.RelatedFactoryList(BookFactory, factory_related_name="author", size=2)

        @factory.post_generation
        def check(self: Author, create: bool, extracted: Any, **kwargs: Any) -> None:
            seen.append((self.pk, create, Book.objects.filter(author=self).count()))

        @classmethod
        def _after_postgeneration(cls, instance: Author, create: bool, results: dict[str, Any] | None = None) -> None:
            assert results is not None
            after.append((create, [book.pk for book in results["books"]]))

    authors, inserts = await inserts_during(lambda: AuthorWithBooksFactory.bulk_create_batch(3))

    assert [table_of(sql) for sql in inserts] == ["bulkapp_author", "bulkapp_book"]
    assert seen == [(a.pk, True, 2) for a in authors]
    assert [create for create, _ in after] == [True] * 3
    assert all(None not in pks and len(pks) == 2 for _, pks in after)
    assert await Book.objects.acount() == 6


async def test_async_post_generation_and_post_generation_method_call() -> None:
    class TaggedAuthorFactory(AuthorFactory):
        promoted = factory.PostGenerationMethodCall("promote", 5)

        @factory.post_generation
        async def tag(self: Author, create: bool, extracted: Any, **kwargs: Any) -> None:
            await Tag.objects.acreate(name=f"tag-{self.pk}")
            await self.asave(update_fields=["rank"])  # what promote() changed, after the hooks declared before

        class Meta:
            skip_postgeneration_save = True  # the hook saves; factory_boy 4 will not save again

    authors = await TaggedAuthorFactory.bulk_create_batch(2)

    assert {t.name async for t in Tag.objects.all()} == {f"tag-{a.pk}" for a in authors}
    assert [a.rank async for a in Author.objects.order_by("pk")] == [5, 5]


# --- objects that are created one by one ---------------------------------------------------------


async def test_get_or_create_factories_reuse_rows() -> None:
    await Tag.objects.acreate(name="red")
    TagFactory.reset_sequence(0)
    book_tags = await BookTagFactory.bulk_create_batch(4)

    assert await Tag.objects.acount() == 2
    assert [bt.tag.name for bt in book_tags] == ["red", "green", "red", "green"]
    assert await BookTag.objects.acount() == 4
    assert {bt.book_id async for bt in BookTag.objects.all()} == {bt.book.pk for bt in book_tags}


async def test_get_or_create_on_a_queued_parent_inserts_the_parent_first() -> None:
    bios = await BiographyByAuthorFactory.bulk_create_batch(3)
    assert await Biography.objects.acount() == 3
    assert all(b.pk is not None and b.author_id == b.author.pk for b in bios)


async def test_an_overridden_create_is_called() -> None:
    calls: list[str] = []

    class LoggedAuthorFactory(AuthorFactory):
        @classmethod
        def _create(cls, model_class: type[Author], *args: Any, **kwargs: Any) -> Author:
            calls.append(kwargs["name"])
            return super()._create(model_class, *args, **kwargs)

    class AsyncCreateAuthorFactory(AuthorFactory):
        @classmethod
        async def _create(cls, model_class: type[Author], *args: Any, **kwargs: Any) -> Author:  # type: ignore[override]
            calls.append("async")
            return await model_class.objects.acreate(*args, **kwargs)

    class BookOfLoggedAuthorFactory(BookFactory):
        author = factory.SubFactory(LoggedAuthorFactory)

    books = await BookOfLoggedAuthorFactory.bulk_create_batch(3)
    authors = await AsyncCreateAuthorFactory.bulk_create_batch(2)

    assert len(calls) == 5 and calls[3:] == ["async", "async"]
    assert all(b.pk is not None and b.author_id == b.author.pk for b in books)
    assert all(a.pk is not None for a in authors)
    assert await Author.objects.acount() == 5


async def test_a_manager_create_override_is_used() -> None:
    StampedFactory.reset_sequence(0)
    stamped = await StampedFactory.bulk_create_batch(2)
    assert [s.label for s in stamped] == ["managed:s0", "managed:s1"]
    assert [s.label async for s in Stamped.objects.order_by("pk")] == ["managed:s0", "managed:s1"]


# --- clear refusals ----------------------------------------------------------------------------


async def test_multi_table_inheritance_is_refused_clearly() -> None:
    with pytest.raises(BulkCreateError, match=r"RestaurantFactory.*bulkapp\.Restaurant.*multi-table.*create_batch"):
        await RestaurantFactory.bulk_create_batch(2)
    assert await Restaurant.objects.acount() == 0


@pytest.fixture
def no_returning_from_bulk_insert(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A property on some backends: patch the class (restored after the test).
    monkeypatch.setattr(type(connections["default"].features), "can_return_rows_from_bulk_insert", False)
    yield


async def test_backend_without_returned_primary_keys_is_refused_clearly(no_returning_from_bulk_insert: None) -> None:
    with pytest.raises(BulkCreateError, match=r"can_return_rows_from_bulk_insert.*Fix: use create_batch\(\)"):
        await FriendFactory.bulk_create_batch(2)
    assert await User.objects.acount() == 0
    # Primary keys made in Python need nothing back from the database.
    tokens = await TokenFactory.bulk_create_batch(3)
    assert await Token.objects.acount() == 3
    assert all(t.pk is not None for t in tokens)


async def test_abstract_factory_is_refused() -> None:
    class AbstractFactory(AsyncFactory[Author]):
        class Meta:
            abstract = True

    with pytest.raises(factory_errors.FactoryError, match="abstract factory AbstractFactory"):
        await AbstractFactory.bulk_create_batch(1)


# --- all or nothing, chunks --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_all_or_nothing_with_real_commits() -> None:
    class FailingAuthorFactory(AuthorFactory):
        @factory.post_generation
        def fail(self: Author, create: bool, extracted: Any, **kwargs: Any) -> None:
            if self.name == "author 3":
                raise RuntimeError("hook failed")

    AuthorFactory.reset_sequence(0)
    with pytest.raises(RuntimeError, match="hook failed"):
        await FailingAuthorFactory.bulk_create_batch(5)
    assert await Author.objects.acount() == 0

    await AuthorFactory.bulk_create_batch(2)
    assert await Author.objects.acount() == 2  # committed


async def test_inserts_are_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "DEFAULT_BATCH_SIZE", 10)
    friends, inserts = await inserts_during(lambda: FriendFactory.bulk_create_batch(25))

    assert [table_of(sql) for sql in inserts] == ["app_user", "app_friend"] * 3
    assert len(friends) == 25 and len({f.pk for f in friends}) == 25
    assert await Friend.objects.acount() == 25


async def test_batch_size_argument() -> None:
    users = await sync_to_async(bulk_generate)(UserFactory, 7, {}, batch_size=3)
    assert len(users) == 7 and all(u.pk is not None for u in users)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        await sync_to_async(bulk_generate)(UserFactory, 1, {}, batch_size=0)
