"""Sync and async hooks: post_generation, LazyFunction/LazyAttribute functions, _create and
_after_postgeneration."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import factory
import pytest
from asgiref.sync import sync_to_async

from app.factory import AsyncFactory
from app.factory.errors import LateAttributeError
from tests.testapp.factories import CompanyFactory
from tests.testapp.models import Account, Address, Bag, Company, Person, Team

pytestmark = pytest.mark.django_db


# --- sync hooks ----------------------------------------------------------------------------------


async def test_sync_post_generation_uses_the_sync_orm_off_the_loop_thread():
    threads: list[int] = []

    class Member(AsyncFactory[Person]):
        name = "member"
        company = None

        @factory.post_generation
        def teams(self: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
            threads.append(threading.get_ident())
            self.teams.add(Team.objects.create(name="sync hook team"))

        class Meta:
            model = Person
            skip_postgeneration_save = True

    person = await Member.create()

    assert threads and threads[0] != threading.get_ident()
    names = await sync_to_async(list)(person.teams.values_list("name", flat=True))
    assert names == ["sync hook team"]


async def test_sync_lazy_function_and_create_run_off_the_loop_thread():
    threads: dict[str, int] = {}

    def count_companies() -> str:
        threads["lazy"] = threading.get_ident()
        return f"companies:{Company.objects.count()}"

    class Counted(AsyncFactory[Company]):
        name = factory.LazyFunction(count_companies)

        class Meta:
            model = Company

        @classmethod
        def _create(cls, model_class: type[Company], *args: Any, **kwargs: Any) -> Company:
            threads["create"] = threading.get_ident()
            return model_class.objects.create(*args, **kwargs)

    await CompanyFactory.create()
    company = await Counted.create()

    assert company.name == "companies:1"
    assert set(threads) == {"lazy", "create"}
    assert threading.get_ident() not in threads.values()


# --- async declarations ----------------------------------------------------------------------


async def async_name() -> str:
    await asyncio.sleep(0)
    return "from async LazyFunction"


async def async_email(obj: Any) -> str:
    await asyncio.sleep(0)
    return f"{obj.name.split()[-1]}@async.example"


class AsyncDeclared(AsyncFactory[Person]):
    name = factory.LazyFunction(async_name)
    email = factory.LazyAttribute(async_email)
    country = factory.LazyAttribute(lambda o: o.email.upper())  # sync, reads the awaited value
    company = None

    class Meta:
        model = Person


async def test_async_lazy_function_and_lazy_attribute_are_awaited():
    person = await AsyncDeclared.create()

    stored = await Person.objects.aget(pk=person.pk)
    assert (stored.name, stored.email, stored.country) == (
        "from async LazyFunction",
        "LazyFunction@async.example",
        "LAZYFUNCTION@ASYNC.EXAMPLE",
    )


@pytest.mark.parametrize("method", ["build", "stub"])
async def test_async_declarations_are_awaited_without_saving(method: str):
    obj = await getattr(AsyncDeclared, method)()

    assert obj.email == "LazyFunction@async.example"
    assert await Person.objects.acount() == 0


async def test_each_async_declaration_is_awaited_once_per_object():
    calls: list[int] = []

    async def counted() -> int:
        calls.append(1)
        return len(calls)

    class Counting(AsyncFactory[Person]):
        name = "n"
        rank = factory.LazyFunction(counted)
        email = factory.LazyAttribute(lambda o: f"{o.rank}@x")
        country = factory.SelfAttribute("email")
        company = None

        class Meta:
            model = Person

    people = await Counting.create_batch(3)

    assert [(p.rank, p.email, p.country) for p in people] == [(1, "1@x", "1@x"), (2, "2@x", "2@x"), (3, "3@x", "3@x")]
    assert len(calls) == 3


async def test_async_declarations_in_sub_factories_are_awaited():
    async def company_name() -> str:
        return "async company"

    class AsyncNamedCompany(AsyncFactory[Company]):
        name = factory.LazyFunction(company_name)

        class Meta:
            model = Company

    class Employee(AsyncFactory[Person]):
        name = "e"
        company = factory.SubFactory(AsyncNamedCompany)

        class Meta:
            model = Person

    person = await Employee.create()

    assert (await Company.objects.aget(pk=person.company.pk)).name == "async company"


@pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])
async def test_async_hooks_see_the_uncommitted_rows_of_their_call():
    # transaction=True: the call's rows are uncommitted while its hooks run, so an async hook
    # sees them only if its queries use the call's connection and transaction.
    async def company_exists(obj: Any) -> str:
        return str(await Company.objects.filter(pk=obj.company.pk).aexists())

    async def count_addresses(obj: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
        obj.rank = await Address.objects.filter(person=obj).acount()
        await obj.asave(update_fields=["rank"])

    class Seeing(AsyncFactory[Person]):
        name = "seeing"
        company = factory.SubFactory(CompanyFactory)
        email = factory.LazyAttribute(company_exists)
        address = factory.RelatedFactory("tests.testapp.factories.AddressFactory", factory_related_name="person")
        count = factory.PostGeneration(count_addresses)

        class Meta:
            model = Person
            skip_postgeneration_save = True

    person = await Seeing.create()

    stored = await Person.objects.aget(pk=person.pk)
    assert (stored.email, stored.rank) == ("True", 1)


async def company_email(obj: Any) -> str:
    return f"staff@{obj.company.name}"


async def async_country(obj: Any) -> str:
    return "async country"


async def country_copy(obj: Any) -> str:
    return f"copy of {obj.country}"


@pytest.mark.parametrize(
    "email_declaration",
    [factory.LazyAttribute(lambda o: f"staff@{o.company.name}"), factory.LazyAttribute(company_email)],
    ids=["sync", "async"],
)
async def test_lazy_attribute_can_read_declarations_declared_before_it(email_declaration: Any):
    class Reading(AsyncFactory[Person]):
        name = "reader"
        company = factory.SubFactory(CompanyFactory, name="Declared earlier")
        country = factory.LazyAttribute(async_country)
        email = email_declaration

        class Meta:
            model = Person

    person = await Reading.create()

    assert person.email == "staff@Declared earlier"
    assert (await Person.objects.aget(pk=person.pk)).email == "staff@Declared earlier"


async def test_sync_lazy_attribute_can_read_declarations_declared_after_it():
    # As in factory_boy: a sync LazyAttribute may read any declaration, whatever their order.
    class Reading(AsyncFactory[Person]):
        email = factory.LazyAttribute(lambda o: f"staff@{o.company.name} from {o.country}")
        name = "reader"
        company = factory.SubFactory(CompanyFactory, name="Declared later")
        country = factory.LazyAttribute(async_country)

        class Meta:
            model = Person

    person = await Reading.create()

    assert person.email == "staff@Declared later from async country"


@pytest.mark.parametrize(
    ("email_declaration", "read"),
    [(factory.LazyAttribute(company_email), "company"), (factory.LazyAttribute(country_copy), "country")],
    ids=["reads-a-later-sub-factory", "reads-a-later-async-attribute"],
)
async def test_async_lazy_attribute_reading_a_later_declaration_says_how_to_fix_it(email_declaration: Any, read: str):
    # An async function runs on the event loop, where the builder cannot compute other fields.
    class Reading(AsyncFactory[Person]):
        email = email_declaration
        name = "reader"
        company = factory.SubFactory(CompanyFactory, name="Declared later")
        country = factory.LazyAttribute(async_country)

        class Meta:
            model = Person

    with pytest.raises(LateAttributeError) as raised:
        await Reading.create()

    assert f"An async function of Reading read {read!r} before it was computed" in str(raised.value)
    assert f"declare {read!r} above the async declaration" in str(raised.value)
    assert not await Person.objects.aexists()


async def test_async_hooks_run_on_the_callers_event_loop():
    released = asyncio.get_running_loop().create_future()

    async def wait_for_release() -> str:
        return await released

    class Waiting(AsyncFactory[Team]):
        name = factory.LazyFunction(wait_for_release)

        class Meta:
            model = Team

    async def release() -> None:
        await asyncio.sleep(0.01)
        released.set_result("released by another task")

    team, _ = await asyncio.gather(Waiting.create(), release())

    assert team.name == "released by another task"


# --- async post_generation -------------------------------------------------------------------------


class AsyncMember(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"m{n}")
    company = None

    @factory.post_generation
    async def teams(self: Person, create: bool, extracted: Any, **kwargs: Any) -> Any:
        if not create:
            return "not created"
        names = extracted or [kwargs.get("name", "default team")]
        for name in names:
            await self.teams.aadd(await Team.objects.acreate(name=name))
        return names

    class Meta:
        model = Person
        skip_postgeneration_save = True


async def team_names(person: Person) -> list[str]:
    return sorted([t.name async for t in person.teams.all()])


async def test_async_post_generation_is_awaited():
    person = await AsyncMember.create()

    assert await team_names(person) == ["default team"]


async def test_async_post_generation_gets_extracted_and_kwargs():
    given = await AsyncMember.create(teams=["a", "b"])
    named = await AsyncMember.create(teams__name="kw team")

    assert await team_names(given) == ["a", "b"]
    assert await team_names(named) == ["kw team"]


async def test_async_post_generation_in_batches():
    people = await AsyncMember.create_batch(3)

    assert [await team_names(p) for p in people] == [["default team"]] * 3
    assert await Team.objects.acount() == 3


async def test_async_post_generation_on_build_gets_create_false():
    person = await AsyncMember.build()

    assert person.pk is None
    assert await Team.objects.acount() == 0


async def test_async_post_generation_of_a_related_factory_is_awaited():
    class Office(AsyncFactory[Company]):
        name = "office"
        member = factory.RelatedFactory(AsyncMember, factory_related_name="company")

        class Meta:
            model = Company
            skip_postgeneration_save = True

    company = await Office.create()

    person = await Person.objects.aget(company=company)
    assert await team_names(person) == ["default team"]


async def test_post_generation_method_call_of_an_async_method_is_awaited():
    class BagFactory(AsyncFactory[Bag]):
        fill = factory.PostGenerationMethodCall("aset_items", ["a", "b"])

        class Meta:
            model = Bag
            skip_postgeneration_save = True

    bag = await BagFactory.create()

    assert (await Bag.objects.aget(pk=bag.pk)).items == ["a", "b"]


# --- _after_postgeneration ---------------------------------------------------------------------


async def test_after_postgeneration_receives_awaited_results():
    seen: dict[str, Any] = {}

    class Recording(AsyncMember):
        @classmethod
        def _after_postgeneration(cls, instance: Person, create: bool, results: Any = None) -> None:
            seen.update(results, create=create, thread=threading.get_ident())

    await Recording.create(teams=["r"])

    assert seen["teams"] == ["r"]
    assert seen["create"] is True
    assert seen["thread"] != threading.get_ident()


async def test_async_after_postgeneration_is_awaited_and_can_write():
    class Finishing(AsyncMember):
        @classmethod
        async def _after_postgeneration(cls, instance: Person, create: bool, results: Any = None) -> None:
            if create:
                instance.email = f"after:{','.join(results['teams'])}"
                await instance.asave(update_fields=["email"])

    person = await Finishing.create(teams=["x", "y"])

    assert (await Person.objects.aget(pk=person.pk)).email == "after:x,y"


# --- async _create ---------------------------------------------------------------------------------


class AsyncCreatedAccount(AsyncFactory[Account]):
    username = factory.Sequence(lambda n: f"ASYNC{n}")

    class Meta:
        model = Account

    @classmethod
    async def _create(cls, model_class: type[Account], *args: Any, **kwargs: Any) -> Account:
        manager = cls._get_manager(model_class)
        account = await sync_to_async(manager.create_account)(*args, **kwargs)
        account.note = "created by async _create"
        await account.asave(update_fields=["note"])
        return account


async def test_async_create_is_awaited():
    account = await AsyncCreatedAccount.create(username="MiXeD")

    assert isinstance(account, Account)
    stored = await Account.objects.aget(pk=account.pk)
    assert (stored.username, stored.note) == ("mixed", "created by async _create")


async def test_async_create_in_a_batch_and_as_a_sub_factory():
    class Holder(AsyncFactory[Person]):
        name = factory.SelfAttribute("account.username")
        company = None

        class Params:
            account = factory.SubFactory(AsyncCreatedAccount)

        class Meta:
            model = Person

    accounts = await AsyncCreatedAccount.create_batch(2)
    holder = await Holder.create()

    assert all(isinstance(a, Account) and a.pk for a in accounts)
    assert holder.name.startswith("async")
    assert await Account.objects.acount() == 3


async def test_async_create_is_not_called_by_build():
    account = await AsyncCreatedAccount.build(username="Built")

    assert account.pk is None
    assert account.username == "Built"
