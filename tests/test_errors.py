"""Bad input raises an error that names the factory and the field, or the fix; nothing is saved."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from typing import Any

import factory
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from factory.django import DjangoModelFactory
from factory.errors import CyclicDefinitionError, FactoryError, UnknownStrategy

from app.factory import AsyncFactory, SyncCallError
from tests.rows import empty
from tests.testapp.factories import CompanyFactory, PersonFactory, TeamFactory
from tests.testapp.models import Company, Person, Team

PUBLIC_CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("create", ()),
    ("build", ()),
    ("stub", ()),
    ("create_batch", (2,)),
    ("build_batch", (2,)),
    ("stub_batch", (2,)),
    ("generate", (factory.CREATE_STRATEGY,)),
    ("generate_batch", (factory.BUILD_STRATEGY, 2)),
    ("simple_generate", (True,)),
    ("simple_generate_batch", (False, 2)),
]


# --- abstract factories ---------------------------------------------------------------------------


class AbstractPerson(AsyncFactory[Person]):
    name = "abstract"

    class Meta:
        model = Person
        abstract = True


class NoModel(AsyncFactory[Any]):
    name = "no model"


@pytest.mark.django_db
@pytest.mark.parametrize("abstract", [AsyncFactory, AbstractPerson, NoModel], ids=lambda f: f.__name__)
@pytest.mark.parametrize(("method", "args"), PUBLIC_CALLS, ids=[m for m, _ in PUBLIC_CALLS])
async def test_abstract_factory_names_itself_and_meta_model(abstract: Any, method: str, args: tuple[Any, ...]):
    with pytest.raises(FactoryError) as raised:
        await getattr(abstract, method)(*args)

    assert abstract.__name__ in str(raised.value)
    assert "Meta.model" in str(raised.value)
    assert await empty(Company, Person, Team)


# --- django_get_or_create on a field without a value ------------------------------------------------


class PersonByEmail(AsyncFactory[Person]):
    name = "no email declared"
    company = factory.SubFactory(CompanyFactory)

    class Meta:
        model = Person
        django_get_or_create = ("email",)


@pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])
async def test_missing_get_or_create_field_names_factory_and_field_and_saves_nothing():
    with pytest.raises(FactoryError) as raised:
        await PersonByEmail.create()

    assert "PersonByEmail" in str(raised.value)
    assert "'email'" in str(raised.value)
    assert await empty(Company, Person, Team)  # the company of the sub-factory was rolled back


@pytest.mark.django_db
async def test_missing_get_or_create_field_given_in_the_call_works():
    person = await PersonByEmail.create(email="given@example.com")

    assert person.pk is not None


# --- unknown fields -------------------------------------------------------------------------------------


class PersonWithTypo(AsyncFactory[Person]):
    name = "typo"
    nmae = "typo"
    company = factory.SubFactory(CompanyFactory)

    class Meta:
        model = Person


@pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])
@pytest.mark.parametrize(
    ("make", "factory_name", "field"),
    [
        (lambda: PersonFactory.create(nickname="x"), "PersonFactory", "nickname"),
        (lambda: PersonFactory.create_batch(2, nickname="x"), "PersonFactory", "nickname"),
        (lambda: PersonWithTypo.create(), "PersonWithTypo", "nmae"),
    ],
    ids=["in-the-call", "in-a-batch", "in-a-declaration"],
)
async def test_unknown_field_names_factory_and_field_and_saves_nothing(make: Any, factory_name: str, field: str):
    with pytest.raises(TypeError) as raised:  # a TypeError, as Django's model __init__ raises
        await make()

    assert factory_name in str(raised.value)
    assert field in str(raised.value)
    assert await empty(Company, Person, Team)


@pytest.mark.django_db
async def test_unknown_field_on_build_is_reported_too():
    with pytest.raises(TypeError, match="nickname") as raised:
        await PersonFactory.build(nickname="x")

    assert "PersonFactory" in str(raised.value)


# --- cyclic declarations ------------------------------------------------------------------------------


class CyclicPerson(AsyncFactory[Person]):
    company = factory.SubFactory(CompanyFactory)
    name = factory.LazyAttribute(lambda o: o.email)
    email = factory.LazyAttribute(lambda o: o.name)

    class Meta:
        model = Person


class SyncCyclicPerson(DjangoModelFactory[Person]):
    name = factory.LazyAttribute(lambda o: o.email)
    email = factory.LazyAttribute(lambda o: o.name)

    class Meta:
        model = Person


@pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])
async def test_cyclic_declaration_raises_factory_boys_error_and_saves_nothing():
    with pytest.raises(CyclicDefinitionError, match="name"):
        await sync_to_async(SyncCyclicPerson.create)()
    with pytest.raises(CyclicDefinitionError, match="name"):
        await CyclicPerson.create()

    assert await empty(Company, Person, Team)  # the company of the sub-factory was rolled back


@pytest.mark.django_db
async def test_cyclic_declaration_error_names_the_factory_and_the_fields():
    with pytest.raises(CyclicDefinitionError) as raised:
        await CyclicPerson.build()

    message = str(raised.value)
    assert "'name'" in message
    assert "'email'" in message
    # factory_boy's message names the fields; the note names the factory.
    assert "CyclicPerson" in "\n".join(raised.value.__notes__)


# --- called from sync code --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "args"), PUBLIC_CALLS, ids=[m for m, _ in PUBLIC_CALLS])
def test_a_call_from_a_script_runs_under_asyncio_run(method: str, args: tuple[Any, ...]):
    # The call is made before the loop runs, as in `asyncio.run(UserFactory.create())`.
    result = asyncio.run(getattr(PersonFactory, method)(*args))

    made = result if isinstance(result, list) else [result]
    assert made
    created = method in ("create", "create_batch", "generate", "simple_generate")
    assert Person.objects.count() == (len(made) if created else 0)


@pytest.mark.django_db
def test_a_call_from_a_script_runs_under_run_until_complete():
    loop = asyncio.new_event_loop()
    try:
        people = loop.run_until_complete(PersonFactory.create_batch(2))
    finally:
        loop.close()

    assert {p.pk for p in people} == set(Person.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_call_never_awaited_warns_with_the_factory_call_and_saves_nothing():
    gc.collect()  # garbage of earlier tests must not count below
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PersonFactory.create_batch(2)
        PersonFactory()  # the factory class itself, as factory_boy's XFactory()
        gc.collect()

    never_awaited = sorted(str(w.message) for w in caught if "never awaited" in str(w.message))
    assert never_awaited == [
        "coroutine 'PersonFactory.create' was never awaited",
        "coroutine 'PersonFactory.create_batch' was never awaited",
    ]
    assert Person.objects.count() == 0
    assert Company.objects.count() == 0


def test_sync_call_error_is_a_runtime_error_and_a_factory_error():
    assert issubclass(SyncCallError, RuntimeError)
    assert issubclass(SyncCallError, FactoryError)


class CallsAsyncFromSyncHook(AsyncFactory[Person]):
    name = "caller"
    company = factory.SubFactory(CompanyFactory)

    @factory.post_generation
    def teams(self: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
        TeamFactory.create()  # wrong: a sync hook has no running event loop

    class Meta:
        model = Person
        skip_postgeneration_save = True


@pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])
async def test_async_factory_called_from_a_sync_hook_raises_sync_call_error_and_saves_nothing():
    with pytest.raises(SyncCallError, match=r"TeamFactory\.create\(\)"):
        await CallsAsyncFromSyncHook.create()

    assert await empty(Company, Person, Team)


@pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])
def test_async_factory_called_from_a_sync_hook_in_an_application_event_loop_raises_sync_call_error():
    outcome: list[BaseException] = []

    async def main() -> None:
        try:
            await CallsAsyncFromSyncHook.create()
        except BaseException as exc:
            outcome.append(exc)
        finally:
            await sync_to_async(connections.close_all)()

    thread = threading.Thread(target=lambda: asyncio.run(main()))  # as main.py: asyncio.run
    thread.start()
    thread.join()

    assert len(outcome) == 1
    assert isinstance(outcome[0], SyncCallError)
    assert "TeamFactory.create()" in str(outcome[0])
    assert (Company.objects.count(), Person.objects.count(), Team.objects.count()) == (0, 0, 0)


# --- unknown strategy ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["generate", "generate_batch"])
async def test_unknown_strategy_names_the_valid_ones(method: str):
    args = ("save",) if method == "generate" else ("save", 2)

    with pytest.raises(UnknownStrategy) as raised:
        await getattr(PersonFactory, method)(*args)

    assert "'save'" in str(raised.value)
    assert "factory.CREATE_STRATEGY" in str(raised.value)
    assert await empty(Company, Person, Team)
