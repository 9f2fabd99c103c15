"""All or nothing: a top-level call that fails anywhere leaves no row and raises the original error.

These tests commit for real (transaction=True): rows left behind by a failed call would be seen.
available_apps limits the flush after each test to the test app's tables (fast on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

import factory
import pytest
from django.db import IntegrityError
from factory.django import DjangoModelFactory

from app.factory import AsyncFactory
from tests.rows import row_counts
from tests.testapp.factories import AccountFactory, CompanyFactory, PersonFactory, TeamFactory
from tests.testapp.models import Account, Company, Person, Team

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])


class BoomError(Exception):
    """The error a test's hook raises: the caller must get this very object back."""


@pytest.fixture
async def existing() -> dict[str, int]:
    """A committed row that failed calls must leave alone; returns the counts before the call."""
    await Company.objects.acreate(name="Existing")
    return await row_counts()


# --- a failing sub-factory or related factory ----------------------------------------------------


class TwoCompanies(AsyncFactory[Person]):
    """Creates a first company (Params), then the person's company: the second can fail."""

    class Params:
        first = factory.SubFactory(CompanyFactory, name="first of the call")

    name = "two companies"
    company = factory.SubFactory(CompanyFactory)

    class Meta:
        model = Person


async def test_failing_sub_factory_rolls_back_the_earlier_sub_factory(existing: dict[str, int]):
    with pytest.raises(IntegrityError):
        await TwoCompanies.create(company__name="Existing")

    assert await row_counts() == existing


class PersonWithBadAddress(AsyncFactory[Person]):
    name = "has a bad address"
    company = factory.SubFactory(CompanyFactory)
    address = factory.RelatedFactory("tests.testapp.factories.AddressFactory", factory_related_name="person", city=None)

    class Meta:
        model = Person
        skip_postgeneration_save = True


async def test_failing_related_factory_rolls_back_the_object_and_its_sub_factories(existing: dict[str, int]):
    with pytest.raises(IntegrityError):  # Address.city is NOT NULL
        await PersonWithBadAddress.create()

    assert await row_counts() == existing


class PlainFailingCompany(DjangoModelFactory[Company]):
    name = "Existing"

    class Meta:
        model = Company


async def test_failing_plain_factory_inside_an_async_call_rolls_back(existing: dict[str, int]):
    with pytest.raises(IntegrityError):
        await TwoCompanies.create(company=factory.SubFactory(PlainFailingCompany))

    assert await row_counts() == existing


# --- failing hooks ------------------------------------------------------------------------------


async def test_failing_sync_post_generation_rolls_back_its_own_writes(existing: dict[str, int]):
    boom = BoomError("sync hook")

    class Failing(AsyncFactory[Person]):
        name = "p"
        company = factory.SubFactory(CompanyFactory)

        @factory.post_generation
        def teams(self: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
            self.teams.add(Team.objects.create(name="written by the hook"))
            raise boom

        class Meta:
            model = Person

    with pytest.raises(BoomError) as raised:
        await Failing.create()

    assert raised.value is boom
    assert await row_counts() == existing


async def test_failing_async_post_generation_rolls_back_its_own_writes(existing: dict[str, int]):
    boom = BoomError("async hook")

    class Failing(AsyncFactory[Person]):
        name = "p"
        company = factory.SubFactory(CompanyFactory)

        @factory.post_generation
        async def teams(self: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
            await self.teams.aadd(await Team.objects.acreate(name="written by the async hook"))
            raise boom

        class Meta:
            model = Person

    with pytest.raises(BoomError) as raised:
        await Failing.create()

    assert raised.value is boom
    assert await row_counts() == existing


async def test_failing_async_lazy_function_rolls_back_the_earlier_sub_factory(existing: dict[str, int]):
    boom = BoomError("async lazy function")

    async def explode() -> str:
        await Team.objects.acreate(name="written by the lazy function")
        raise boom

    class Failing(AsyncFactory[Person]):
        company = factory.SubFactory(CompanyFactory)
        name = factory.LazyFunction(explode)

        class Meta:
            model = Person

    with pytest.raises(BoomError) as raised:
        await Failing.create()

    assert raised.value is boom
    assert await row_counts() == existing


async def test_failing_async_create_rolls_back_its_own_writes(existing: dict[str, int]):
    boom = BoomError("async _create")

    class Failing(AsyncFactory[Account]):
        username = "u"

        class Meta:
            model = Account

        @classmethod
        async def _create(cls, model_class: type[Account], *args: Any, **kwargs: Any) -> Account:
            await model_class.objects.acreate(*args, **kwargs)
            raise boom

    with pytest.raises(BoomError) as raised:
        await Failing.create()

    assert raised.value is boom
    assert await row_counts() == existing


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_failing_after_postgeneration_rolls_back(existing: dict[str, int], kind: str):
    boom = BoomError(f"{kind} _after_postgeneration")

    def fail_sync(cls: Any, instance: Any, create: bool, results: Any = None) -> None:
        raise boom

    async def fail_async(cls: Any, instance: Any, create: bool, results: Any = None) -> None:
        raise boom

    class Failing(AsyncFactory[Person]):
        name = "p"
        company = factory.SubFactory(CompanyFactory)
        _after_postgeneration = classmethod(fail_sync if kind == "sync" else fail_async)

        class Meta:
            model = Person

    with pytest.raises(BoomError) as raised:
        await Failing.create()

    assert raised.value is boom
    assert await row_counts() == existing


# --- IntegrityError of the object itself, and batches -----------------------------------------------


async def test_integrity_error_of_the_object_reaches_the_caller(existing: dict[str, int]):
    with pytest.raises(IntegrityError) as raised:
        await CompanyFactory.create(name="Existing")

    assert type(raised.value) is IntegrityError
    assert await row_counts() == existing


async def test_batch_failing_on_its_last_object_leaves_no_object_of_the_batch(existing: dict[str, int]):
    names = iter(["batch 0", "batch 1", "Existing"])

    with pytest.raises(IntegrityError):
        await PersonFactory.create_batch(3, company__name=factory.LazyFunction(lambda: next(names)))

    assert await row_counts() == existing


async def test_a_failed_call_does_not_undo_earlier_calls(existing: dict[str, int]):
    kept = await PersonFactory.create()

    with pytest.raises(IntegrityError):
        await CompanyFactory.create(name="Existing")

    assert await Person.objects.filter(pk=kept.pk).aexists()
    assert await Company.objects.acount() == existing["testapp.Company"] + 1


async def test_the_database_is_usable_right_after_a_failed_call(existing: dict[str, int]):
    with pytest.raises(IntegrityError):
        await TwoCompanies.create(company__name="Existing")

    person = await PersonFactory.create()
    team = await TeamFactory.create()
    account = await AccountFactory.create()

    assert all(obj.pk for obj in (person, team, account))
    assert await Person.objects.acount() == 1


async def test_each_call_commits_on_its_own():
    await CompanyFactory.create(name="committed")
    with pytest.raises(IntegrityError):
        await CompanyFactory.create(name="committed")

    assert [c.name async for c in Company.objects.all()] == ["committed"]
