"""Faults: whatever part of a graph fails, the call raises the original error, every table is
exactly as before, and the connection is usable for the next call."""

from __future__ import annotations

from typing import Any

import factory
import pytest
from django.db import IntegrityError
from faker.providers import BaseProvider

from app.factory import AsyncFactory, CleanModelFactory, FactoryValidationError
from tests.rows import row_counts
from tests.testapp.models import Account, Address, Company, Person, Team

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:.*_after_postgeneration will stop saving:DeprecationWarning"),
]


class BoomError(Exception):
    pass


class Fuse:
    """Blows at the ``after``-th time its armed point is reached."""

    point: str | None = None
    after = 0
    seen = 0

    @classmethod
    def arm(cls, point: str, after: int) -> None:
        cls.point, cls.after, cls.seen = point, after, 0

    @classmethod
    def blows(cls, point: str) -> bool:
        if cls.point != point:
            return False
        cls.seen += 1
        return cls.seen == cls.after

    @classmethod
    def check(cls, point: str) -> None:
        if cls.blows(point):
            raise BoomError(point)


class FaultProvider(BaseProvider):
    def fault_note(self) -> str:
        Fuse.check("faker")
        return "note"


factory.Faker.add_provider(FaultProvider)


def lazy_note() -> str:
    Fuse.check("lazy_function")
    return "lazy"


def account_name(n: int) -> str:
    return "taken" if Fuse.blows("integrity") else f"account {n}"


def clean_account_name(n: int) -> str:
    return "x" * 80 if Fuse.blows("validation") else f"clean account {n}"


class CompanyF(AsyncFactory[Company]):
    class Meta:
        model = Company
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"fault company {n}")

    @factory.post_generation
    def check(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        Fuse.check("subfactory")


class AddressF(AsyncFactory[Address]):
    class Meta:
        model = Address
        skip_postgeneration_save = True

    city = "Lyon"

    @factory.post_generation
    def check(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        Fuse.check("related_list_item")


class AccountF(AsyncFactory[Account]):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    username = factory.Sequence(account_name)
    note = factory.Faker("fault_note")
    password = factory.LazyFunction(lazy_note)

    @factory.post_generation
    def check(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        Fuse.check("related")


class CleanAccountF(CleanModelFactory[Account]):
    class Meta:
        model = Account

    username = factory.Sequence(clean_account_name)


class PersonF(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"fault person {n}")
    company = factory.SubFactory(CompanyF)
    addresses = factory.RelatedFactoryList(AddressF, "person", size=3)
    account = factory.RelatedFactory(AccountF)
    clean_account = factory.RelatedFactory(CleanAccountF)

    @factory.post_generation
    def sync_hook(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.teams.add(Team.objects.create(name="sync hook team"))
        Fuse.check("sync_hook")

    @factory.post_generation
    async def async_hook(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            await Team.objects.acreate(name="async hook team")
        Fuse.check("async_hook")

    @factory.post_generation
    def break_save(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if Fuse.blows("postgen_save"):
            self.name = None  # type: ignore[assignment]  # NOT NULL: the post-generation save fails


# point: (error type, times the point is reached per Person graph)
POINTS: dict[str, tuple[type[BaseException], int]] = {
    "subfactory": (BoomError, 1),
    "related": (BoomError, 1),
    "related_list_item": (BoomError, 3),
    "sync_hook": (BoomError, 1),
    "async_hook": (BoomError, 1),
    "postgen_save": (IntegrityError, 1),
    "integrity": (IntegrityError, 1),
    "validation": (FactoryValidationError, 1),
    "faker": (BoomError, 1),
    "lazy_function": (BoomError, 1),
}
BATCH = 3
METHODS = {
    # method: (call, how many Person graphs it makes)
    "create": (lambda: PersonF.create(), 1),
    "create_batch": (lambda: PersonF.create_batch(BATCH), BATCH),
    "bulk_create_batch": (lambda: PersonF.bulk_create_batch(BATCH), BATCH),
}


@pytest.fixture(autouse=True)
def disarm() -> Any:
    yield
    Fuse.point = None


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("point", sorted(POINTS))
async def test_a_failure_anywhere_leaves_every_table_as_it_was(point: str, method: str) -> None:
    await Account.objects.acreate(username="taken")
    await PersonF.create()  # rows that were there before must stay
    before = await row_counts()

    error_type, per_graph = POINTS[point]
    call, graphs = METHODS[method]
    Fuse.arm(point, after=per_graph * graphs - (1 if point == "related_list_item" else 0))
    with pytest.raises(error_type) as raised:
        await call()
    if error_type is BoomError:
        assert str(raised.value) == point, "the original error reaches the caller"

    assert await row_counts() == before
    Fuse.point = None
    person = await PersonF.create()  # the connection is usable: no aborted transaction
    assert await Address.objects.filter(person=person).acount() == 3


class OneRowCompanyF(AsyncFactory[Company]):
    """A factory whose create() makes one row: it runs without BEGIN/COMMIT of its own."""

    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"one row {n}")


async def test_a_failing_save_receiver_still_rolls_back_a_one_row_create() -> None:
    from django.db.models.signals import post_save

    def fail(sender: Any, instance: Company, **kwargs: Any) -> None:
        if instance.name.startswith("one row"):
            Company.objects.create(name=f"made by a receiver for {instance.name}")
            raise BoomError("receiver")

    before = await row_counts()
    post_save.connect(fail, sender=Company)
    try:
        with pytest.raises(BoomError, match="receiver"):
            await OneRowCompanyF.create()
    finally:
        post_save.disconnect(fail, sender=Company)
    assert await row_counts() == before
    assert (await OneRowCompanyF.create()).pk is not None
