"""factory.django options through AsyncFactory: get_or_create, skip_postgeneration_save, database,
custom ``_create`` and custom managers."""

from __future__ import annotations

from typing import Any

import factory
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User as AuthUser
from django.db import IntegrityError
from django.utils.connection import ConnectionDoesNotExist
from factory.django import DjangoModelFactory

from app.factory import AsyncFactory
from tests.testapp.factories import AccountFactory, TaggedFactory
from tests.testapp.models import Account, Company, Person, Tagged

pytestmark = pytest.mark.django_db


# --- django_get_or_create ----------------------------------------------------------------------


class CompanyByName(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"goc-{n}")
    country = "FR"

    class Meta:
        model = Company
        django_get_or_create = ("name",)


class SyncCompanyByName(DjangoModelFactory[Company]):
    name = factory.Sequence(lambda n: f"goc-{n}")
    country = "FR"

    class Meta:
        model = Company
        django_get_or_create = ("name",)


async def test_get_or_create_returns_the_existing_row():
    first = await CompanyByName.create(name="Acme")

    again = await CompanyByName.create(name="Acme", country="DE")

    assert again.pk == first.pk
    assert again.country == "FR"  # the other values are defaults: unused when the row exists
    assert await Company.objects.acount() == 1


async def test_get_or_create_creates_when_missing_and_in_batches():
    companies = await CompanyByName.create_batch(3, name="Same")
    others = await CompanyByName.create_batch(2)

    assert len({c.pk for c in companies}) == 1
    assert len({c.pk for c in others}) == 2
    assert await Company.objects.acount() == 3


class PersonByName(AsyncFactory[Person]):
    name = "Ann"
    company = factory.SubFactory(CompanyByName)

    class Meta:
        model = Person
        django_get_or_create = ("name",)


class SyncPersonByName(DjangoModelFactory[Person]):
    name = "Ann"
    company = factory.SubFactory(SyncCompanyByName)

    class Meta:
        model = Person
        django_get_or_create = ("name",)


async def test_get_or_create_evaluates_sub_factories_as_factory_boy_does():
    def run_sync() -> tuple[int, int, bool]:
        a, b = SyncPersonByName.create(), SyncPersonByName.create()
        return Person.objects.count(), Company.objects.count(), a.pk == b.pk

    expected = await sync_to_async(run_sync)()
    await Person.objects.all().adelete()
    await Company.objects.all().adelete()

    a, b = await PersonByName.create(), await PersonByName.create()

    assert (await Person.objects.acount(), await Company.objects.acount(), a.pk == b.pk) == expected
    assert expected == (1, 2, True)


class CompanyByNameAndCountry(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"goc-{n}")
    country = "DE"
    staff = factory.RelatedFactory(
        "tests.testapp.factories.PersonFactory", factory_related_name="company", name="after fallback"
    )

    class Meta:
        model = Company
        django_get_or_create = ("name", "country")
        skip_postgeneration_save = True


class SyncCompanyByNameAndCountry(DjangoModelFactory[Company]):
    name = factory.Sequence(lambda n: f"goc-{n}")
    country = "DE"

    class Meta:
        model = Company
        django_get_or_create = ("name", "country")


async def test_get_or_create_integrity_error_falls_back_to_the_given_fields():
    # get(name, country=DE) misses, the insert hits the unique name, factory_boy then looks
    # the row up by the fields the caller gave (name): on PostgreSQL this only works if the
    # failed insert did not poison the call's transaction.
    existing = await Company.objects.acreate(name="Acme", country="FR")
    expected = await sync_to_async(lambda: SyncCompanyByNameAndCountry.create(name="Acme").pk)()
    assert expected == existing.pk

    company = await CompanyByNameAndCountry.create(name="Acme")

    assert company.pk == existing.pk
    assert company.country == "FR"
    # The RelatedFactory ran after the fallback, in the same transaction.
    assert await Person.objects.filter(company=existing, name="after fallback").aexists()
    assert await Company.objects.acount() == 1


class AccountByNote(AsyncFactory[Account]):
    username = factory.Sequence(lambda n: f"user{n}")
    note = "declared"

    class Meta:
        model = Account
        django_get_or_create = ("note",)


async def test_get_or_create_integrity_error_without_a_fallback_reaches_the_caller():
    await Account.objects.acreate(username="taken", note="other")

    with pytest.raises(IntegrityError):
        await AccountByNote.create(username="taken")

    assert await Account.objects.acount() == 1
    # The connection is still usable afterwards (PostgreSQL: not left in an aborted transaction).
    assert (await AccountByNote.create(username="free")).note == "declared"


# --- skip_postgeneration_save ----------------------------------------------------------------


def rename_in_memory(obj: Account, create: bool, extracted: Any, **kwargs: Any) -> None:
    obj.note = "changed by hook"


class SavingAccount(AsyncFactory[Account]):
    username = factory.Sequence(lambda n: f"saving{n}")
    note = "initial"
    hook = factory.PostGeneration(rename_in_memory)

    class Meta:
        model = Account


class SkippingAccount(SavingAccount):
    class Meta:
        skip_postgeneration_save = True


async def test_without_skip_postgeneration_save_the_instance_is_saved_again():
    with pytest.warns(DeprecationWarning, match="skip_postgeneration_save=True"):
        account = await SavingAccount.create()

    assert (await Account.objects.aget(pk=account.pk)).note == "changed by hook"


async def test_skip_postgeneration_save_does_not_save_again():
    account = await SkippingAccount.create()

    assert account.note == "changed by hook"
    assert (await Account.objects.aget(pk=account.pk)).note == "initial"


# --- database ---------------------------------------------------------------------------------


async def test_database_option_names_the_connection_used():
    class OnDefault(AsyncFactory[Company]):
        name = "on default"

        class Meta:
            model = Company
            database = "default"

    class OnMissing(AsyncFactory[Company]):
        name = "nowhere"

        class Meta:
            model = Company
            database = "missing_alias"

    class SyncOnMissing(DjangoModelFactory[Company]):
        name = "nowhere"

        class Meta:
            model = Company
            database = "missing_alias"

    assert (await OnDefault.create()).pk is not None
    with pytest.raises(ConnectionDoesNotExist, match="missing_alias") as sync_error:
        await sync_to_async(SyncOnMissing.create)()
    with pytest.raises(ConnectionDoesNotExist, match="missing_alias") as async_error:
        await OnMissing.create()
    # The same type of error as factory_boy's, with a message that names the factory and the fix.
    assert str(sync_error.value) == "The connection 'missing_alias' doesn't exist."
    assert str(async_error.value).startswith("OnMissing.Meta.database = 'missing_alias' names no database")
    # Building needs no database, whatever the alias.
    assert (await OnMissing.build()).name == "nowhere"
    assert await Company.objects.acount() == 1


# --- custom _create and custom managers ---------------------------------------------------------


class AccountViaManagerMethod(AsyncFactory[Account]):
    username = factory.Sequence(lambda n: f"MiXeD{n}")
    note = "n"

    class Meta:
        model = Account

    @classmethod
    def _create(cls, model_class: type[Account], *args: Any, **kwargs: Any) -> Account:
        return cls._get_manager(model_class).create_account(*args, **kwargs)


async def test_custom_create_calling_a_manager_method():
    account = await AccountViaManagerMethod.create(username="UPPER")

    stored = await Account.objects.aget(pk=account.pk)
    assert stored.username == "upper"
    assert stored.note == "n"


async def test_custom_create_calling_create_user():
    class StaffUser(AsyncFactory[AuthUser]):
        username = factory.Sequence(lambda n: f"staff{n}")
        password = "pw-in-clear"

        class Meta:
            model = AuthUser

        @classmethod
        def _create(cls, model_class: type[AuthUser], *args: Any, **kwargs: Any) -> AuthUser:
            return cls._get_manager(model_class).create_user(*args, **kwargs)

    user = await StaffUser.create()

    stored = await AuthUser.objects.aget(pk=user.pk)
    assert stored.password != "pw-in-clear"
    assert stored.check_password("pw-in-clear")


async def test_custom_manager_create_is_used():
    tagged = await TaggedFactory.create(label="a")
    batch = await TaggedFactory.create_batch(2)

    assert tagged.label == "managed:a"
    assert sorted(await sync_to_async(list)(Tagged.objects.values_list("label", flat=True))) == [
        "managed:a",
        "managed:x",
        "managed:x",
    ]
    assert all(t.pk for t in batch)


async def test_custom_manager_is_not_used_by_build():
    tagged = await TaggedFactory.build(label="a")

    assert tagged.label == "a"
    assert await Tagged.objects.acount() == 0


async def test_plain_factory_without_options_uses_the_default_manager():
    account = await AccountFactory.create(username="KeepCase")

    assert (await Account.objects.aget(pk=account.pk)).username == "KeepCase"
