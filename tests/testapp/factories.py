"""Shared factories for the core suite: each AsyncFactory has a plain DjangoModelFactory twin.

The twins have the same declarations, so a test can compare what AsyncFactory produces with
what factory_boy itself produces.
"""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from app.factory import AsyncFactory
from tests.testapp.models import Account, Address, Company, Person, Tagged, Team


class CompanyFactory(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"Company {n}")

    class Meta:
        model = Company


class SyncCompanyFactory(DjangoModelFactory[Company]):
    name = factory.Sequence(lambda n: f"Sync company {n}")

    class Meta:
        model = Company


class TeamFactory(AsyncFactory[Team]):
    name = factory.Sequence(lambda n: f"Team {n}")

    class Meta:
        model = Team


class SyncTeamFactory(DjangoModelFactory[Team]):
    name = factory.Sequence(lambda n: f"Sync team {n}")

    class Meta:
        model = Team


class PersonFactory(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"Person {n}")
    email = factory.LazyAttribute(lambda o: f"{o.name.lower().replace(' ', '.')}@example.com")
    company = factory.SubFactory(CompanyFactory)

    class Meta:
        model = Person


class SyncPersonFactory(DjangoModelFactory[Person]):
    name = factory.Sequence(lambda n: f"Person {n}")
    email = factory.LazyAttribute(lambda o: f"{o.name.lower().replace(' ', '.')}@example.com")
    company = factory.SubFactory(SyncCompanyFactory)

    class Meta:
        model = Person


class AddressFactory(AsyncFactory[Address]):
    person = factory.SubFactory(PersonFactory)
    city = factory.Sequence(lambda n: f"City {n}")

    class Meta:
        model = Address


class AccountFactory(AsyncFactory[Account]):
    username = factory.Sequence(lambda n: f"user{n}")

    class Meta:
        model = Account


class TaggedFactory(AsyncFactory[Tagged]):
    label = "x"

    class Meta:
        model = Tagged
