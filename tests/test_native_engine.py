"""Factories on django-async-backend (issue 20): native calls, in the caller's transaction, no thread hop.

These tests need the "native" database of tests/settings.py: PostgreSQL, Python 3.12+ and
django-async-backend (Django 6.1). Each factory here writes to it (``Meta.database = "native"``).
Rolled-back tests are rolled back by the pytest plugin (``app/factory/native_testing.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from pathlib import Path
from typing import Any

import factory
import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save
from django.test import override_settings
from factory.random import reseed_random

from app.factory import AsyncFactory, AuthUserFactory, CleanModelFactory, OptionalSubFactory, mute_signals
from app.factory.errors import (
    FactoryValidationError,
    MixedEnginesError,
    NativeSyncConnectionError,
    NativeTaskError,
    SyncCallError,
)
from app.models import Friend, Profile, User
from tests.test_differential import COUNTRY, EMAIL, NAME, make_factories
from tests.testapp.models import Address, AuditLog, Company, Document, Person, Team

if "native" not in settings.DATABASES:
    if os.environ.get("CI") == "true" and sys.version_info >= (3, 12) and connections["default"].vendor == "postgresql":
        raise RuntimeError("CI=true on PostgreSQL with Python 3.12+: the native engine's tests must run here")
    pytest.skip(
        "the native engine needs django-async-backend (Python 3.12+, Django 6.1) and PostgreSQL: "
        "run `python3.13 dev.py test` with a PostgreSQL server",
        allow_module_level=True,
    )

from django_async_backend.db import async_connections
from django_async_backend.db.transaction import async_atomic

NATIVE = ["default", "native"]
pytestmark = pytest.mark.django_db(databases=NATIVE)


class BoomError(Exception):
    pass


def on(db: str) -> Any:
    """The demo's and the test app's factories, writing to database ``db``."""

    class UserFactory(AsyncFactory[User]):
        class Meta:
            model = User
            database = db

        name = factory.Faker("name")

    class FriendFactory(AsyncFactory[Friend]):
        class Meta:
            model = Friend
            database = db

        user = factory.SubFactory(UserFactory)
        friend = factory.SubFactory(UserFactory)

    class CompanyFactory(AsyncFactory[Company]):
        class Meta:
            model = Company
            database = db
            django_get_or_create = ("name",)

        name = factory.Sequence(lambda n: f"company {n}")

    class AddressFactory(AsyncFactory[Address]):
        class Meta:
            model = Address
            database = db

        city = factory.Faker("city")

    class PersonFactory(AsyncFactory[Person]):
        class Meta:
            model = Person
            database = db
            skip_postgeneration_save = True

        class Params:
            vip = factory.Trait(rank=100)
            lucky = False

        name = factory.Sequence(lambda n: f"person {n}")
        email = factory.LazyAttribute(lambda o: f"{o.name.replace(' ', '.')}@example.org")
        company = factory.SubFactory(CompanyFactory)
        country = factory.SelfAttribute("company.country")
        rank = factory.Maybe("lucky", yes_declaration=7, no_declaration=1)
        addresses = factory.RelatedFactoryList(AddressFactory, "person", size=2)

        @factory.post_generation
        def teams(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            if create and extracted:
                self.teams.add(*extracted)  # a related manager, in a sync hook: the call's connection

        @factory.post_generation
        async def audited(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            if create:
                await manager(AuditLog, db).acreate(entry=f"made {self.name}")

    return type("Factories", (), {k: v for k, v in locals().items() if k.endswith("Factory")})


native = on("native")


async def counts(*models: Any, database: str = "native") -> list[int]:
    """Rows per model: natively on "native", through Django's async API elsewhere."""
    return [await manager(model, database).acount() for model in models]


def manager(model: Any, database: str) -> Any:
    """The manager an async hook uses on ``database``: django-async-backend's on a native one, Django's elsewhere."""
    return (model.async_objects if database == "native" else model.objects).using(database)


# --- rolled-back tests (the pytest plugin) ---------------------------------------------------------


@pytest.fixture
async def friends() -> Any:
    return await native.FriendFactory.create_batch(2)


@pytest.fixture
async def more_friends(friends: Any) -> Any:
    made = await native.FriendFactory.create_batch(1)
    yield made
    assert await counts(Friend) == [4]  # the test's rows too: one transaction, still open


async def test_async_fixtures_and_the_test_share_one_rolled_back_transaction(friends: Any, more_friends: Any) -> None:
    assert await counts(User, Friend) == [6, 3]
    await native.FriendFactory.create()
    assert await counts(Friend) == [4]


async def test_the_next_test_sees_no_row_of_the_previous_one() -> None:
    assert await counts(User, Friend, Person, Company) == [0, 0, 0, 0]


@pytest_asyncio.fixture
async def users_made_by_pytest_asyncio() -> Any:
    return await native.UserFactory.create_batch(2)


@pytest.mark.asyncio
async def test_pytest_asyncio_runs_them_in_one_rolled_back_transaction(users_made_by_pytest_asyncio: Any) -> None:
    assert await counts(User) == [2]  # made in the fixture's task, seen in the test's
    await native.UserFactory.create()
    assert await counts(User) == [3]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def users_made_by_anyio(anyio_backend: str) -> Any:
    return await native.UserFactory.create_batch(2)


@pytest.mark.anyio
async def test_anyio_runs_them_in_one_rolled_back_transaction(users_made_by_anyio: Any) -> None:
    assert await counts(User) == [2]
    await native.UserFactory.create()
    assert await counts(User) == [3]


async def test_and_the_next_test_sees_none_of_their_rows() -> None:
    assert await counts(User) == [0]


# --- calls run natively ----------------------------------------------------------------------------


async def test_every_call_runs_on_the_asyncio_connection_and_opens_no_sync_one() -> None:
    opened: list[str] = []

    def sync_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.alias == "native" and type(connection).__name__ == "DatabaseWrapper":
            opened.append(connection.alias)

    connection_created.connect(sync_connection)
    try:
        user = await native.UserFactory.create()
        friends = await native.FriendFactory.create_batch(5)
        bulk = await native.FriendFactory.bulk_create_batch(5)
        built = await native.UserFactory.build()
        stub = await native.UserFactory.stub()
    finally:
        connection_created.disconnect(sync_connection)
    assert user.pk and all(f.pk and f.user.pk for f in friends + bulk) and built.pk is None and stub.name
    assert await counts(User, Friend) == [21, 10]
    assert await counts(User, Friend, database="default") == [0, 0]
    assert opened == []
    assert user._state.db == "native"


async def test_every_declaration_and_hook_works_natively() -> None:
    team = await Team.async_objects.using("native").acreate(name="core")
    people = await native.PersonFactory.create_batch(2, lucky=True, vip=True, teams=[team])
    person = people[0]
    assert (person.rank, person.email, person.country) == (100, f"{person.name.replace(' ', '.')}@example.org", "FR")
    assert await counts(Person, Company, Address, AuditLog) == [2, 2, 4, 2]
    members = Person.teams.through.async_objects.using("native").values_list("team__name", flat=True)
    assert [name async for name in members] == ["core", "core"]
    same = await native.CompanyFactory.create(name=person.company.name)  # django_get_or_create
    assert same.pk == person.company.pk


async def test_a_call_is_a_savepoint_of_the_callers_transaction() -> None:
    async with async_atomic("native"):
        await native.FriendFactory.create_batch(2)
        with pytest.raises(BoomError):
            await native.PersonFactory.create(name=factory.LazyFunction(lambda: (_ for _ in ()).throw(BoomError())))
        assert await counts(User, Friend, Person, Company) == [4, 2, 0, 0]  # the failed call left nothing
    assert await counts(User, Friend) == [4, 2]

    with pytest.raises(BoomError):
        async with async_atomic("native"):
            await native.FriendFactory.create_batch(3)
            raise BoomError("the caller's block rolls back")
    assert await counts(User, Friend) == [4, 2]


async def test_a_call_from_an_async_hook_runs_inside_the_outer_call() -> None:
    class PersonWithAddressFactory(native.PersonFactory):
        class Meta:
            skip_postgeneration_save = True

        @factory.post_generation
        async def home(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            await native.AddressFactory.create(person=self, city="home")
            if extracted:
                raise BoomError("after the nested call")

    person = await PersonWithAddressFactory.create()
    assert [a.city async for a in Address.async_objects.using("native").filter(person=person, city="home")] == ["home"]
    with pytest.raises(BoomError):
        await PersonWithAddressFactory.create(home=True)
    assert await counts(Person, Address) == [1, 3]  # the failed call's nested rows went with it


async def test_a_failing_call_outside_a_transaction_leaves_nothing() -> None:
    class FailingFriendFactory(native.FriendFactory):
        class Meta:
            skip_postgeneration_save = True

        @factory.post_generation
        def fail(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            if extracted:
                raise BoomError("after the rows were written")

    for call in (
        lambda: FailingFriendFactory.create(fail=True),
        lambda: FailingFriendFactory.create_batch(3, fail=True),
    ):
        with pytest.raises(BoomError):
            await call()
        assert await counts(User, Friend) == [0, 0]


class NativeRouter:
    """Everything on "native": full_clean() checks unique fields where the routers read the model."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "native"

    db_for_write = db_for_read


@override_settings(DATABASE_ROUTERS=[NativeRouter()])
async def test_clean_auth_and_optional_factories_work_natively() -> None:
    class CleanCompanyFactory(CleanModelFactory[Company]):
        class Meta:
            model = Company
            database = "native"

        name = "Acme"

    class NativeUserFactory(AuthUserFactory):
        class Meta:
            database = "native"

    class ProfileFactory(AsyncFactory[Profile]):
        class Meta:
            model = Profile
            database = "native"

        user = OptionalSubFactory(native.UserFactory)

    await CleanCompanyFactory.create()
    with pytest.raises(FactoryValidationError, match='name="Acme": Company with this Name already exists'):
        await CleanCompanyFactory.create()  # full_clean's unique check sees the row of this very test
    users = await NativeUserFactory.create_batch(3, password="pw")
    assert len({u.username for u in users}) == 3 and users[0].check_password("pw")
    profile = await ProfileFactory.create(user=True)
    assert profile.user.pk and await counts(User) == [1]


async def test_mute_signals_and_files_work_natively() -> None:
    seen: list[str] = []

    def receiver(sender: Any, instance: User, **kwargs: Any) -> None:
        seen.append(instance.name)

    post_save.connect(receiver, sender=User)
    try:
        await native.UserFactory.create(name="heard")
        async with mute_signals(post_save):
            await native.UserFactory.create(name="muted")
    finally:
        post_save.disconnect(receiver, sender=User)
    assert seen == ["heard"]

    class DocumentFactory(AsyncFactory[Document]):
        class Meta:
            model = Document
            database = "native"

        file = factory.django.FileField(filename="native.txt", data=b"native")

    document = await DocumentFactory.create()
    assert (Path(settings.MEDIA_ROOT) / document.file.name).read_bytes() == b"native"


@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_sync_and_async_queries_of_a_batch_see_the_objects_made_before_them(method: str) -> None:
    async def counted() -> str:
        return f"after {await User.async_objects.using('native').acount()}"

    class CountingFactory(native.UserFactory):
        name = factory.LazyFunction(counted)

    class SyncCountingFactory(native.UserFactory):
        name = factory.LazyFunction(lambda: f"after {User.objects.using('native').count()}")

    for counting in (CountingFactory, SyncCountingFactory):
        await User.async_objects.using("native").all().adelete()
        users = await getattr(counting, method)(4)
        assert [u.name for u in users] == ["after 0", "after 1", "after 2", "after 3"]


# --- what cannot run natively: a clear error, nothing left ----------------------------------------


async def test_a_thread_hop_to_djangos_sync_connection_in_an_async_hook_is_refused() -> None:
    class HoppingFactory(native.UserFactory):
        class Meta:
            skip_postgeneration_save = True

        @factory.post_generation
        async def log(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            await AuditLog.objects.using("native").acreate(entry="on the sync connection")

    with pytest.raises(NativeSyncConnectionError, match=r"HoppingFactory\.create\(\).*async_objects"):
        await HoppingFactory.create()
    assert await counts(User, AuditLog) == [0, 0]


async def test_a_call_from_another_task_says_how_to_give_it_a_connection() -> None:
    await native.UserFactory.create()  # this task owns the connection now
    with pytest.raises(NativeTaskError, match="async_new_connection"):
        await asyncio.create_task(native.UserFactory.create())


async def test_a_call_from_a_sync_hook_names_the_fix() -> None:
    class CallingFactory(native.UserFactory):
        class Meta:
            skip_postgeneration_save = True

        @factory.post_generation
        def friend(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            native.UserFactory.create()

    with pytest.raises(SyncCallError, match=r"UserFactory\.create\(\).*async def"):
        await CallingFactory.create()
    assert await counts(User) == [0]


async def test_a_graph_spanning_both_engines_is_refused() -> None:
    class MixedFriendFactory(AsyncFactory[Friend]):
        class Meta:
            model = Friend
            database = "native"

        user = factory.SubFactory(on("default").UserFactory)
        friend = factory.SubFactory(native.UserFactory)

    with pytest.raises(MixedEnginesError, match=r"'native'.*'default'.*Fix"):
        await MixedFriendFactory.create()
    assert await counts(User, Friend) == [0, 0] and await counts(User, database="default") == [0]


@pytest.mark.django_db(databases=NATIVE, transaction=True)  # outside a transaction, as a script's calls
async def test_a_connection_the_server_dropped_is_replaced_before_the_next_call() -> None:
    """With CONN_HEALTH_CHECKS (the template's settings), as on the standard backends (tests/test_connections.py)."""
    connection = async_connections["native"]
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    await native.UserFactory.create()
    async with await connection.cursor() as cursor:
        await cursor.execute("SELECT pg_backend_pid()")
        (pid,) = await cursor.fetchone()

    def terminate() -> None:  # from another connection, as the server's idle timeout or a restart would
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    await sync_to_async(terminate)()
    await native.UserFactory.create()  # checked before its first query, and replaced
    await native.FriendFactory.create()
    assert await counts(User, Friend) == [4, 1]


async def test_a_cancelled_call_leaves_nothing_and_the_connection_usable() -> None:
    class SlowFactory(native.UserFactory):
        class Meta:
            skip_postgeneration_save = True

        @factory.post_generation
        async def slowly(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            await asyncio.sleep(0.05)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await SlowFactory.create_batch(50)
    assert await counts(User) == [0]
    assert (await native.UserFactory.create()).pk


# --- the same objects on both engines -------------------------------------------------------------


async def snapshot(person: Person, database: str) -> dict[str, Any]:
    """What tests/test_differential.py compares, read where the person was saved."""
    company = person.company
    saved = await manager(Person, database).filter(pk=person.pk).values_list("rank", flat=True).afirst()
    cities = manager(Address, database).filter(person_id=person.pk).values_list("city", flat=True)
    return {
        "name": person.name,
        "email": person.email,
        "country": person.country,
        "rank": person.rank,
        "company": None if company is None else (company.name, company.country),
        "saved_rank": saved,
        "cities": sorted([city async for city in cities]),
    }


BOTH = (False, True)
CHOICES = [
    dict(zip(("name", "email", "country", "company", "related", "hook"), values, strict=True))
    for values in itertools.product(sorted(NAME), sorted(EMAIL), sorted(COUNTRY), BOTH, BOTH, BOTH)
]


@pytest.mark.parametrize("size", [1, 4])
async def test_generated_factories_make_the_same_objects_on_both_engines(size: int) -> None:
    # tests/test_differential.py's factory trees, every combination of its declarations, on each engine.
    for number, choice in enumerate(CHOICES):
        made = []
        for database in ("default", "native"):
            kwargs: dict[str, Any] = {"lucky": True}
            if choice["hook"]:
                kwargs["bump"] = 2
            if choice["company"]:  # names unique across the test's rows: "default 7-0", "native 7-0"...
                kwargs["company__name"] = factory.Sequence(lambda n, prefix=f"{database} {number}": f"{prefix}-{n}")
            reseed_random(number)
            people = await make_factories(AsyncFactory, choice, database).create_batch(size, **kwargs)
            snapshots = [await snapshot(person, database) for person in people]
            for values in snapshots:  # the company name says which database: compare the rest of it
                if values["company"] is not None:
                    values["company"] = (values["company"][0].split(" ", 1)[1], values["company"][1])
            made.append(snapshots)
        assert made[0] == made[1], choice
