"""AsyncFactory and plain DjangoModelFactory declared in terms of each other."""

from __future__ import annotations

from typing import Any

import factory
import pytest
from asgiref.sync import async_to_sync
from factory.django import DjangoModelFactory

from app.factory import AsyncFactory
from tests.testapp.factories import CompanyFactory, SyncCompanyFactory, SyncTeamFactory, TeamFactory
from tests.testapp.models import Address, Company, Person, Team

pytestmark = pytest.mark.django_db


def join_team_sync(obj: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
    if create:
        obj.teams.add(SyncTeamFactory.create(name="joined"))


class PlainAddress(DjangoModelFactory[Address]):
    city = "Plainville"

    class Meta:
        model = Address


class AsyncAddress(AsyncFactory[Address]):
    city = "Asyncville"

    class Meta:
        model = Address


# --- from an AsyncFactory to plain factories ----------------------------------------------------


class AsyncPersonOfPlainParts(AsyncFactory[Person]):
    name = "async person"
    company = factory.SubFactory(SyncCompanyFactory)
    address = factory.RelatedFactory(PlainAddress, factory_related_name="person")
    team = factory.PostGeneration(join_team_sync)

    class Meta:
        model = Person
        skip_postgeneration_save = True


async def test_async_factory_with_plain_sub_and_related_factories():
    person = await AsyncPersonOfPlainParts.create()

    assert await Company.objects.filter(pk=person.company.pk, name__startswith="Sync company").aexists()
    assert [a.city async for a in Address.objects.filter(person=person)] == ["Plainville"]
    assert [t.name async for t in person.teams.all()] == ["joined"]


async def test_async_factory_with_plain_parts_builds_without_saving():
    person = await AsyncPersonOfPlainParts.build()

    assert person.pk is None
    assert person.company.pk is None
    assert await Company.objects.acount() == 0
    assert await Address.objects.acount() == 0


async def test_async_factory_with_plain_parts_in_a_batch():
    people = await AsyncPersonOfPlainParts.create_batch(3)

    assert len({p.company.pk for p in people}) == 3
    assert await Address.objects.acount() == 3


# --- from a plain factory to AsyncFactories, from sync code ----------------------------------


class PlainPersonOfAsyncParts(DjangoModelFactory[Person]):
    name = "plain person"
    company = factory.SubFactory(CompanyFactory)
    address = factory.RelatedFactory(AsyncAddress, factory_related_name="person")

    class Meta:
        model = Person
        skip_postgeneration_save = True


def test_plain_factory_with_async_sub_and_related_factories_from_sync_code():
    person = PlainPersonOfAsyncParts.create()

    assert Company.objects.filter(pk=person.company.pk, name__startswith="Company").exists()
    assert list(Address.objects.filter(person=person).values_list("city", flat=True)) == ["Asyncville"]


def test_plain_factory_with_async_parts_batch_and_build_from_sync_code():
    people = PlainPersonOfAsyncParts.create_batch(2)
    built = PlainPersonOfAsyncParts.build()

    assert Person.objects.count() == 2
    assert len({p.company.pk for p in people}) == 2
    assert built.pk is None
    assert Company.objects.count() == 2


def test_async_factory_from_sync_code_through_async_to_sync():
    # The fix SyncCallError suggests.
    company = async_to_sync(CompanyFactory.create)(name="from sync")
    teams = async_to_sync(TeamFactory.create_batch)(2)

    assert Company.objects.get(pk=company.pk).name == "from sync"
    assert Team.objects.count() == 2
    assert all(t.pk for t in teams)


# --- chains -----------------------------------------------------------------------------------------


async def deep_name() -> str:
    return "awaited three levels down"


class AsyncDeepCompany(AsyncFactory[Company]):
    name = factory.LazyFunction(deep_name)

    class Meta:
        model = Company


class PlainMiddlePerson(DjangoModelFactory[Person]):
    name = "middle"
    company = factory.SubFactory(AsyncDeepCompany)

    class Meta:
        model = Person


class AsyncTopAddress(AsyncFactory[Address]):
    city = "top"
    person = factory.SubFactory(PlainMiddlePerson)

    class Meta:
        model = Address


async def test_async_plain_async_chain_awaits_the_deepest_async_declaration():
    address = await AsyncTopAddress.create()

    stored = await Address.objects.select_related("person__company").aget(pk=address.pk)
    assert (stored.city, stored.person.name, stored.person.company.name) == (
        "top",
        "middle",
        "awaited three levels down",
    )


class PlainTopAddress(DjangoModelFactory[Address]):
    city = "plain top"
    person = factory.SubFactory("tests.testapp.factories.PersonFactory")

    class Meta:
        model = Address


def test_plain_async_plain_chain_from_sync_code():
    address = PlainTopAddress.create()

    stored = Address.objects.select_related("person__company").get(pk=address.pk)
    assert stored.person.company.name.startswith("Company ")
    assert stored.person.email.endswith("@example.com")
