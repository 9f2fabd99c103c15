"""What is measured: the variants, each a call that makes ``n`` objects of ``User`` or ``Friend``.

Every factory here declares what the demo factories in ``app/factories.py`` declare
(``User.name = Faker("name")``; ``Friend`` = two ``SubFactory(UserFactory)``), with
``Meta.database`` set to the benchmark's database. The variants without a factory take their names
from the very Faker generator factory_boy uses (``factory.Faker._get_faker()``), called in the same
order; as the random state is reseeded before every timed run, every variant makes the same names.
A ``Friend`` is three rows: the two ``User``s it points to, then itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import factory
from asgiref.sync import sync_to_async
from django.db import transaction
from factory.django import DjangoModelFactory
from model_bakery import baker

import app.factories
from app.models import Friend, User

from .figures import TIMES

MODELS = ("User", "Friend")
USERS_PER_OBJECT = {"User": 1, "Friend": 2}


@dataclass(frozen=True)
class Context:
    """One database's factories, and the Faker generator they share."""

    alias: str
    plain: dict[str, type[DjangoModelFactory[Any]]]  # factory_boy's own, sync
    ours: dict[str, Any]  # app.factory.AsyncFactory subclasses of the demo factories
    one_by_one: dict[str, Any]  # the same with Meta.bulk_batches = False: create_batch saves each object
    fake: Any  # factory_boy's Faker generator (en_US)


def make_context(alias: str) -> Context:
    class PlainUserFactory(DjangoModelFactory[User]):
        name = factory.Faker("name")

        class Meta:
            model = User
            database = alias

    class PlainFriendFactory(DjangoModelFactory[Friend]):
        user = factory.SubFactory(PlainUserFactory)
        friend = factory.SubFactory(PlainUserFactory)

        class Meta:
            model = Friend
            database = alias

    class UserFactory(app.factories.UserFactory):
        class Meta:
            database = alias

    class FriendFactory(app.factories.FriendFactory):
        user = factory.SubFactory(UserFactory)
        friend = factory.SubFactory(UserFactory)

        class Meta:
            database = alias

    class OneByOneUserFactory(UserFactory):
        class Meta:
            bulk_batches = False

    class OneByOneFriendFactory(FriendFactory):
        class Meta:
            bulk_batches = False

    return Context(
        alias=alias,
        plain={"User": PlainUserFactory, "Friend": PlainFriendFactory},
        ours={"User": UserFactory, "Friend": FriendFactory},
        one_by_one={"User": OneByOneUserFactory, "Friend": OneByOneFriendFactory},
        fake=factory.Faker._get_faker(),
    )


@dataclass(frozen=True)
class Variant:
    key: str  # the JSON key
    label: str
    run: Callable[[Context, str, int], Any]  # makes n objects: returns them, or a coroutine of them
    saves: bool = True  # whether it leaves n objects of the model in the database
    ours: bool = False  # app.factory's, rather than a baseline
    # A call or a commit per object: the cost per object does not depend on n, so it makes per_object_n.
    per_object: bool = False

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.run)


# --- baselines -----------------------------------------------------------------------------------


def fb_create_batch(c: Context, model: str, n: int) -> Any:
    return c.plain[model].create_batch(n)


def fb_create_batch_atomic(c: Context, model: str, n: int) -> Any:
    with transaction.atomic(using=c.alias):
        return c.plain[model].create_batch(n)


def _bakery(c: Context, model: str, n: int, bulk: bool) -> Any:
    names = {"name": c.fake.name} if model == "User" else {"user__name": c.fake.name, "friend__name": c.fake.name}
    with transaction.atomic(using=c.alias):
        return baker.make(model_class(model), _quantity=n, _using=c.alias, _bulk_create=bulk, **names)


def bakery_make(c: Context, model: str, n: int) -> Any:
    return _bakery(c, model, n, bulk=False)


def bakery_bulk_create(c: Context, model: str, n: int) -> Any:
    return _bakery(c, model, n, bulk=True)


async def django_acreate_loop(c: Context, model: str, n: int) -> Any:
    users, name = User.objects.using(c.alias), c.fake.name
    if model == "User":
        return [await users.acreate(name=name()) for _ in range(n)]
    friends = Friend.objects.using(c.alias)
    made = []
    for _ in range(n):
        user = await users.acreate(name=name())
        friend = await users.acreate(name=name())
        made.append(await friends.acreate(user=user, friend=friend))
    return made


def _bulk_create(c: Context, model: str, n: int) -> list[Any]:
    name = c.fake.name
    users = [User(name=name()) for _ in range(n * USERS_PER_OBJECT[model])]
    with transaction.atomic(using=c.alias):
        User.objects.using(c.alias).bulk_create(users)
        if model == "User":
            return users
        friends = [Friend(user=users[i], friend=users[i + 1]) for i in range(0, 2 * n, 2)]
        return Friend.objects.using(c.alias).bulk_create(friends)


async def django_abulk_create(c: Context, model: str, n: int) -> Any:
    """The floor: for User exactly ``await User.objects.abulk_create(users)``, names included.

    For Friend, two ``abulk_create`` calls would pay two hops and two commits where
    ``bulk_create_batch`` pays one of each: the floor makes both inserts in one hop and one transaction.
    """
    return await sync_to_async(_bulk_create, thread_sensitive=True)(c, model, n)


def faker_alone(c: Context, model: str, n: int) -> Any:
    name = c.fake.name
    return [name() for _ in range(n * USERS_PER_OBJECT[model])]


def fb_build_batch(c: Context, model: str, n: int) -> Any:
    return c.plain[model].build_batch(n)


async def fb_create_behind_hop(c: Context, model: str, n: int) -> Any:
    create = sync_to_async(c.plain[model].create, thread_sensitive=True)
    return [await create() for _ in range(n)]


def _noop() -> int:
    return 0


async def hop_alone(c: Context, model: str, n: int) -> Any:
    noop = sync_to_async(_noop, thread_sensitive=True)
    return [await noop() for _ in range(n)]


# --- app.factory -----------------------------------------------------------------------------------


async def create_batch(c: Context, model: str, n: int) -> Any:
    return await c.ours[model].create_batch(n)


async def create_batch_one_by_one(c: Context, model: str, n: int) -> Any:
    return await c.one_by_one[model].create_batch(n)


async def create_loop(c: Context, model: str, n: int) -> Any:
    create = c.ours[model].create
    return [await create() for _ in range(n)]


async def bulk_create_batch(c: Context, model: str, n: int) -> Any:
    return await c.ours[model].bulk_create_batch(n)


async def build_batch(c: Context, model: str, n: int) -> Any:
    return await c.ours[model].build_batch(n)


def model_class(model: str) -> Any:
    return User if model == "User" else Friend


VARIANTS = (
    Variant("fb_create_batch", "factory_boy create_batch, autocommit", fb_create_batch, per_object=True),
    Variant("fb_create_batch_atomic", "factory_boy create_batch in one atomic()", fb_create_batch_atomic),
    Variant("bakery_make", "model_bakery make(_quantity=n) in atomic()", bakery_make),
    Variant("create_batch", "await AsyncFactory.create_batch(n)", create_batch, ours=True),
    Variant("create_batch_one_by_one", "the same, Meta.bulk_batches = False (one INSERT per row)",
            create_batch_one_by_one, ours=True),
    Variant("django_acreate_loop", f"N {TIMES} await Model.objects.acreate()", django_acreate_loop, per_object=True),
    Variant("fb_create_behind_hop", f"N {TIMES} await sync_to_async(factory_boy create)()", fb_create_behind_hop,
            per_object=True),
    Variant("create_loop", f"N {TIMES} await AsyncFactory.create()", create_loop, ours=True, per_object=True),
    Variant("bakery_bulk_create", "model_bakery make(_bulk_create=True) in atomic()", bakery_bulk_create),
    Variant("django_abulk_create", "await abulk_create(), one hop, one atomic() (floor)", django_abulk_create),
    Variant("bulk_create_batch", "await AsyncFactory.bulk_create_batch(n)", bulk_create_batch, ours=True),
    Variant("faker_alone", "Faker alone: fake.name() per User (floor)", faker_alone, saves=False),
    Variant("fb_build_batch", "factory_boy build_batch", fb_build_batch, saves=False),
    Variant("build_batch", "await AsyncFactory.build_batch(n)", build_batch, saves=False, ours=True),
    Variant("hop_alone", f"N {TIMES} await sync_to_async(no-op)() (a hop)", hop_alone, saves=False, per_object=True),
)  # fmt: skip
BY_KEY = {variant.key: variant for variant in VARIANTS}

# What each row's two ratios are taken against: the strongest factory_boy baseline, and the floor.
REFERENCE = {"saves": "fb_create_batch_atomic", "builds": "fb_build_batch"}
FLOOR = {"saves": "django_abulk_create", "builds": "faker_alone"}


def references(variant: Variant) -> tuple[str, str] | None:
    """(strongest baseline, floor) keys for ``variant``'s ratios; None for the hop, which makes nothing."""
    if variant.key == "hop_alone":
        return None
    kind = "saves" if variant.saves else "builds"
    return REFERENCE[kind], FLOOR[kind]
