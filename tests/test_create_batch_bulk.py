"""create_batch inserts in bulk wherever nobody can tell the difference (issue 21), and one by one elsewhere.

Each condition that makes the difference observable has a test that the call then saves one object
at a time, by its INSERT statements and by the debug line that names the path and the reason.
"""

from __future__ import annotations

import logging
from typing import Any
from unittest import mock

import factory
import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_save
from django.utils import timezone
from factory.django import DjangoModelFactory

from app.factories import FriendFactory, UserFactory
from app.factory import AsyncFactory
from app.models import Friend, User
from tests.bulkapp.models import Author, Category, Dated, Restaurant, Stamped
from tests.test_bulk import inserts_during, table_of

pytestmark = pytest.mark.django_db


class OneByOneFriendFactory(FriendFactory):
    class Meta:
        bulk_batches = False


async def tables_inserted(make: Any) -> tuple[Any, list[str]]:
    made, inserts = await inserts_during(make)
    return made, [table_of(sql) for sql in inserts]


async def test_create_batch_inserts_each_level_once() -> None:
    friends, tables = await tables_inserted(lambda: FriendFactory.create_batch(5))
    assert tables == ["app_user", "app_friend"]
    assert all(f.pk and f.user.pk and f.friend.pk and not f._state.adding for f in friends)
    assert await Friend.objects.acount() == 5 and await User.objects.acount() == 10


async def test_the_debug_line_names_the_path_and_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="app.factory"):
        await FriendFactory.create_batch(4)
        await OneByOneFriendFactory.create_batch(4)
        await FriendFactory.create_batch(3)
    assert [r.getMessage() for r in caplog.records if r.name == "app.factory"] == [
        "FriendFactory.create_batch(4): bulk_create, parents first",
        "OneByOneFriendFactory.create_batch(4): one save per object: OneByOneFriendFactory.Meta.bulk_batches is False",
    ]  # create_batch(3): below BULK_BATCH_MIN_SIZE, one by one without a decision to log


def named_author_factory(bulk_batches: bool) -> Any:
    """A new factory class each time: its own sequence."""

    class NamedAuthorFactory(AsyncFactory[Author]):
        Meta = type("Meta", (), {"model": Author, "bulk_batches": bulk_batches})

        name = factory.Sequence(lambda n: f"author {n}")
        rank = factory.LazyAttribute(lambda o: len(o.name))

    return NamedAuthorFactory


async def test_both_paths_make_the_same_objects_and_sequences() -> None:
    bulk, one_by_one = named_author_factory(True), named_author_factory(False)
    made = [await bulk.create_batch(4), await one_by_one.create_batch(4)]
    assert [(a.name, a.rank) for a in made[0]] == [(a.name, a.rank) for a in made[1]]
    assert (await bulk.create()).name == "author 4"  # the sequence goes on


async def test_auto_now_and_database_defaults_are_set_on_either_path() -> None:
    class DatedFactory(AsyncFactory[Dated]):
        class Meta:
            model = Dated

        label = factory.Sequence(lambda n: f"dated {n}")

    class OneByOneDatedFactory(DatedFactory):
        class Meta:
            bulk_batches = False

    started = timezone.now()
    for made in (await DatedFactory.create_batch(4), await OneByOneDatedFactory.create_batch(4)):
        assert all(started <= d.created <= timezone.now() and started <= d.updated for d in made)
        assert [d.status for d in made] == ["new"] * 4  # returned by the INSERT, as create() gets it
    stored = {(d.pk, d.status) async for d in Dated.objects.all()}
    assert len(stored) == 8 and {status for _, status in stored} == {"new"}


# --- what makes it save one by one ----------------------------------------------------------------


async def test_a_receiver_connected_between_two_calls_is_called_for_each_object() -> None:
    seen: list[str] = []

    def receiver(sender: Any, instance: User, **kwargs: Any) -> None:
        seen.append(instance.name)

    _, before = await tables_inserted(lambda: UserFactory.create_batch(4))
    post_save.connect(receiver, sender=User)
    try:
        users, during = await tables_inserted(lambda: UserFactory.create_batch(4))
    finally:
        post_save.disconnect(receiver, sender=User)
    _, after = await tables_inserted(lambda: UserFactory.create_batch(4))

    assert (before, during, after) == (["app_user"], ["app_user"] * 4, ["app_user"])
    assert seen == [u.name for u in users]


async def test_a_save_patched_after_the_first_call_is_called_for_each_object() -> None:
    saved: list[str] = []

    def save(self: User, *args: Any, **kwargs: Any) -> None:
        saved.append(self.name)
        Model.save(self, *args, **kwargs)

    await UserFactory.create_batch(4)
    with mock.patch.object(User, "save", save):
        users, tables = await tables_inserted(lambda: UserFactory.create_batch(4))
    assert tables == ["app_user"] * 4 and saved == [u.name for u in users]


class PostGenerationUserFactory(UserFactory):
    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def seen(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        self.seen_rows = User.objects.count()  # type: ignore[attr-defined]


class CategoryFactory(AsyncFactory[Category]):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"category {n}")
    parent = factory.SubFactory("tests.test_create_batch_bulk.RootCategoryFactory")


class RootCategoryFactory(CategoryFactory):
    parent = None


class SyncCategoryFactory(DjangoModelFactory[Category]):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"category {n}")
    parent = factory.SubFactory("tests.test_create_batch_bulk.SyncRootCategoryFactory")


class SyncRootCategoryFactory(SyncCategoryFactory):
    parent = None


class RestaurantFactory(AsyncFactory[Restaurant]):
    class Meta:
        model = Restaurant

    name = factory.Sequence(lambda n: f"restaurant {n}")


class GetOrCreateAuthorFactory(AsyncFactory[Author]):
    class Meta:
        model = Author
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"author {n}")


class StampedFactory(AsyncFactory[Stamped]):
    class Meta:
        model = Stamped

    label = factory.Sequence(lambda n: f"stamp {n}")


ONE_BY_ONE = {
    "post_generation": (PostGenerationUserFactory, "PostGenerationUserFactory has post-generation declarations (seen)"),
    "multi-table inheritance": (RestaurantFactory, "Restaurant uses multi-table inheritance"),
    "django_get_or_create": (GetOrCreateAuthorFactory, "Meta.django_get_or_create"),
    "a manager's create()": (StampedFactory, "StampedManager.create"),
    "a model in itself": (
        CategoryFactory,
        "Category objects nest in each other: their primary keys would come in another order",
    ),
}


@pytest.mark.parametrize("case", list(ONE_BY_ONE))
async def test_what_create_batch_saves_one_by_one(case: str, caplog: pytest.LogCaptureFixture) -> None:
    factory_class, reason = ONE_BY_ONE[case]
    with caplog.at_level(logging.DEBUG, logger="app.factory"):
        made, tables = await tables_inserted(lambda: factory_class.create_batch(4))
    assert [r.getMessage() for r in caplog.records if r.name == "app.factory"] == [
        f"{factory_class.__name__}.create_batch(4): one save per object: {reason}"
    ]
    assert len(made) == 4 and len(tables) >= 4 and all(o.pk for o in made)


async def test_objects_nesting_their_own_model_get_factory_boys_primary_keys() -> None:
    ours = await CategoryFactory.create_batch(4)
    first = min(c.parent.pk for c in ours)
    await Category.objects.all().adelete()
    theirs = await sync_to_async(SyncCategoryFactory.create_batch)(4)
    # One by one: each parent just before its child, as factory_boy saves them.
    assert [(c.pk - first, c.parent.pk - first) for c in ours] == [(1, 0), (3, 2), (5, 4), (7, 6)]
    base = min(c.parent.pk for c in theirs)
    assert [(c.pk - base, c.parent.pk - base) for c in theirs] == [(1, 0), (3, 2), (5, 4), (7, 6)]


async def test_a_database_that_cannot_return_bulk_primary_keys_saves_one_by_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # MySQL 8 (not on this machine): its features say so; the flag is the only thing that differs.
    with (
        mock.patch.object(type(connection.features), "can_return_rows_from_bulk_insert", False),
        caplog.at_level(logging.DEBUG, logger="app.factory"),
    ):
        users, tables = await tables_inserted(lambda: UserFactory.create_batch(4))
    assert tables == ["app_user"] * 4 and all(u.pk for u in users)
    assert "cannot return the primary keys of a bulk insert" in caplog.records[-1].getMessage()


async def test_a_post_generation_declaration_in_the_call_saves_one_by_one() -> None:
    class AuthorFactory(AsyncFactory[Author]):
        class Meta:
            model = Author
            skip_postgeneration_save = True

        name = factory.Sequence(lambda n: f"author {n}")

    post = factory.PostGeneration(lambda obj, create, extracted, **kw: None)
    _, tables = await tables_inserted(lambda: AuthorFactory.create_batch(4, check=post))
    assert tables == ["bulkapp_author"] * 4
