"""What is measured: the factories (one set per database) and the variants that call them.

Every factory here declares what the demo factories in ``app/factories.py`` declare
(``User.name = Faker("name")``; ``Friend`` = two ``SubFactory(UserFactory)``), with
``Meta.database`` set to the benchmark's own database.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import factory
from factory.django import DjangoModelFactory

import app.factories
from app.models import Friend, User

from .naive import NaiveAsyncFactory

MODELS = ("User", "Friend")


@dataclass(frozen=True)
class Factories:
    alias: str
    plain: dict[str, type[DjangoModelFactory[Any]]]  # factory_boy's own, sync
    naive: dict[str, type[NaiveAsyncFactory[Any]]]  # the gist's approach (baseline)
    ours: dict[str, Any]  # app.factory.AsyncFactory subclasses of the demo factories


def make_factories(alias: str) -> Factories:
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

    class NaiveUserFactory(NaiveAsyncFactory[User]):
        name = factory.Faker("name")

        class Meta:
            model = User
            database = alias

    class NaiveFriendFactory(NaiveAsyncFactory[Friend]):
        user = factory.SubFactory(NaiveUserFactory)
        friend = factory.SubFactory(NaiveUserFactory)

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

    return Factories(
        alias=alias,
        plain={"User": PlainUserFactory, "Friend": PlainFriendFactory},
        naive={"User": NaiveUserFactory, "Friend": NaiveFriendFactory},
        ours={"User": UserFactory, "Friend": FriendFactory},
    )


# A variant: (factories, model name, n) -> seconds, for one call making n objects.
Sync = Callable[[Factories, str, int], float]
Async = Callable[[Factories, str, int], Awaitable[float]]


@dataclass(frozen=True)
class Variant:
    key: str  # the JSON key's first half: "<key>.<Model>"
    label: str
    run: Sync | Async
    is_async: bool
    saves: bool  # whether the call leaves n objects of the model in the database
    baseline: str  # the key its ratio is taken against

    @property
    def fast(self) -> bool:
        """No commit per row: quick, so measured more often (noise matters more)."""
        return self.key not in SLOW


SLOW = frozenset({"factory_boy_create_batch", "naive_async_create_batch", "create_loop"})


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


async def _atimed(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


def plain_create_batch(f: Factories, model: str, n: int) -> float:
    return _timed(lambda: f.plain[model].create_batch(n))


async def naive_create_batch(f: Factories, model: str, n: int) -> float:
    return await _atimed(lambda: f.naive[model].create_batch(n))


async def create_batch(f: Factories, model: str, n: int) -> float:
    return await _atimed(lambda: f.ours[model].create_batch(n))


async def create_loop(f: Factories, model: str, n: int) -> float:
    factory_class = f.ours[model]

    async def loop() -> None:
        for _ in range(n):
            await factory_class.create()

    return await _atimed(loop)


async def bulk_create_batch(f: Factories, model: str, n: int) -> float:
    return await _atimed(lambda: f.ours[model].bulk_create_batch(n))


def floor(f: Factories, model: str, n: int) -> float:
    """The least work that makes these rows: factory_boy's build_batch, then bulk_create."""

    def run() -> None:
        built = f.plain[model].build_batch(n)
        if model == "Friend":
            User.objects.using(f.alias).bulk_create([u for friend in built for u in (friend.user, friend.friend)])
            if f.alias != "default":
                # Assigning an unsaved User routed the Friend to "default"; Django refuses a
                # relation across databases once the Users are in f.alias.
                for friend in built:
                    friend._state.db = f.alias
            Friend.objects.using(f.alias).bulk_create(built)
        else:
            User.objects.using(f.alias).bulk_create(built)

    return _timed(run)


def plain_build_batch(f: Factories, model: str, n: int) -> float:
    return _timed(lambda: f.plain[model].build_batch(n))


async def build_batch(f: Factories, model: str, n: int) -> float:
    return await _atimed(lambda: f.ours[model].build_batch(n))


VARIANTS = (
    Variant("factory_boy_create_batch", "factory_boy create_batch (baseline)", plain_create_batch, False, True,
            "factory_boy_create_batch"),
    Variant("naive_async_create_batch", "naive async: await acreate per row, as the gist", naive_create_batch, True,
            True, "factory_boy_create_batch"),
    Variant("create_batch", "await AsyncFactory.create_batch(n)", create_batch, True, True,
            "factory_boy_create_batch"),
    Variant("create_loop", "N \N{MULTIPLICATION SIGN} await AsyncFactory.create()", create_loop, True, True,
            "factory_boy_create_batch"),
    Variant("bulk_create_batch", "await AsyncFactory.bulk_create_batch(n)", bulk_create_batch, True, True,
            "factory_boy_create_batch"),
    Variant("floor_bulk_create", "floor: bulk_create(factory_boy build_batch(n))", floor, False, True,
            "factory_boy_create_batch"),
    Variant("factory_boy_build_batch", "factory_boy build_batch (build baseline)", plain_build_batch, False, False,
            "factory_boy_build_batch"),
    Variant("build_batch", "await AsyncFactory.build_batch(n)", build_batch, True, False, "factory_boy_build_batch"),
)  # fmt: skip

SCALING_VARIANTS = ("create_batch", "bulk_create_batch", "floor_bulk_create")
