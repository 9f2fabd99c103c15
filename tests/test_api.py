"""The public API: every classmethod is awaited and returns what factory_boy's returns."""

from __future__ import annotations

import inspect
from typing import Any

import factory
import pytest
from asgiref.sync import iscoroutinefunction, sync_to_async
from factory.base import StubObject
from factory.django import DjangoModelFactory

from app.factory import AsyncFactory
from tests.testapp.models import Company, Person

pytestmark = pytest.mark.django_db

PUBLIC_METHODS = [
    "create",
    "build",
    "stub",
    "create_batch",
    "build_batch",
    "stub_batch",
    "generate",
    "generate_batch",
    "simple_generate",
    "simple_generate_batch",
]


class AsyncCo(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"co-{n}")

    class Meta:
        model = Company


class AsyncPerson(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"person-{n}")
    rank = factory.LazyAttribute(lambda o: len(o.name))
    company = factory.SubFactory(AsyncCo)

    class Meta:
        model = Person


class SyncCo(DjangoModelFactory[Company]):
    name = factory.Sequence(lambda n: f"co-{n}")

    class Meta:
        model = Company


class SyncPerson(DjangoModelFactory[Person]):
    name = factory.Sequence(lambda n: f"person-{n}")
    rank = factory.LazyAttribute(lambda o: len(o.name))
    company = factory.SubFactory(SyncCo)

    class Meta:
        model = Person


def snapshot(value: Any) -> Any:
    """What a user sees of a result, without primary keys (they differ between two runs)."""
    if isinstance(value, list):
        return [snapshot(item) for item in value]
    if isinstance(value, StubObject):
        return ("stub", {key: snapshot(val) for key, val in sorted(vars(value).items())})
    if isinstance(value, Company):
        return ("Company", value.pk is not None, value.name)
    if isinstance(value, Person):
        return ("Person", value.pk is not None, value.name, value.rank, snapshot(value.company))
    return value


def count_rows() -> tuple[int, int]:
    return Person.objects.count(), Company.objects.count()


def wipe() -> None:
    Person.objects.all().delete()
    Company.objects.all().delete()


def reset_sequences() -> None:
    for f in (AsyncCo, AsyncPerson, SyncCo, SyncPerson):
        f.reset_sequence(0)


CALLS = [
    ("create", (), {}),
    ("create", (), {"name": "given", "company__name": "Given Co"}),
    ("build", (), {}),
    ("build", (), {"rank": 7}),
    ("stub", (), {}),
    ("create_batch", (3,), {}),
    ("create_batch", (2,), {"rank": 5}),
    ("create_batch", (0,), {}),
    ("build_batch", (2,), {}),
    ("stub_batch", (2,), {"rank": 1}),
    ("generate", (factory.CREATE_STRATEGY,), {}),
    ("generate", (factory.BUILD_STRATEGY,), {"name": "b"}),
    ("generate", (factory.STUB_STRATEGY,), {}),
    ("generate_batch", (factory.CREATE_STRATEGY, 2), {}),
    ("generate_batch", (factory.BUILD_STRATEGY, 2), {}),
    ("generate_batch", (factory.STUB_STRATEGY, 2), {}),
    ("simple_generate", (True,), {}),
    ("simple_generate", (False,), {"rank": 3}),
    ("simple_generate_batch", (True, 2), {}),
    ("simple_generate_batch", (False, 2), {}),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs"), CALLS, ids=[f"{m}{a}{sorted(k)}".replace(" ", "") for m, a, k in CALLS]
)
async def test_each_method_returns_what_factory_boy_returns(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]):
    reset_sequences()
    before = await sync_to_async(count_rows)()
    expected = await sync_to_async(getattr(SyncPerson, method))(*args, **kwargs)
    expected_rows = await sync_to_async(count_rows)()
    expected_snapshot = snapshot(expected)
    await sync_to_async(wipe)()

    result = await getattr(AsyncPerson, method)(*args, **kwargs)

    assert snapshot(result) == expected_snapshot
    after = await sync_to_async(count_rows)()
    assert (after[0] - before[0], after[1] - before[1]) == (
        expected_rows[0] - before[0],
        expected_rows[1] - before[1],
    )


ARGS_OF = {
    "generate": (factory.BUILD_STRATEGY,),
    "generate_batch": (factory.BUILD_STRATEGY, 1),
    "simple_generate": (False,),
    "simple_generate_batch": (False, 1),
}


@pytest.mark.parametrize("method", PUBLIC_METHODS)
async def test_public_methods_return_coroutines(method: str):
    # asgiref's check is the one Django uses to tell async callables apart.
    assert iscoroutinefunction(getattr(AsyncPerson, method))
    args = ARGS_OF.get(method, (1,) if method.endswith("_batch") else ())

    result = getattr(AsyncPerson, method)(*args)

    assert inspect.iscoroutine(result)
    await result


def test_async_factory_is_an_abstract_django_model_factory():
    assert issubclass(AsyncFactory, DjangoModelFactory)
    assert AsyncFactory._meta.abstract


async def test_create_saves_a_row_with_the_declared_values():
    person = await AsyncPerson.create(name="Ada")

    row = await Person.objects.select_related("company").aget(pk=person.pk)
    assert (row.name, row.rank, row.company.name) == ("Ada", 3, person.company.name)


async def test_build_saves_nothing_not_even_sub_factories():
    person = await AsyncPerson.build()

    assert person.pk is None
    assert person.company.pk is None
    assert await Person.objects.acount() == 0
    assert await Company.objects.acount() == 0


async def test_stub_returns_stub_objects_all_the_way_down():
    stub = await AsyncPerson.stub(name="S")

    assert isinstance(stub, StubObject)
    assert isinstance(stub.company, StubObject)
    assert (stub.name, stub.rank) == ("S", 1)
    assert await Company.objects.acount() == 0


async def test_batch_objects_are_distinct_and_get_consecutive_sequences():
    AsyncPerson.reset_sequence(10)

    people = await AsyncPerson.create_batch(3)

    assert [p.name for p in people] == ["person-10", "person-11", "person-12"]
    assert len({p.company.pk for p in people}) == 3
    assert await Person.objects.acount() == 3


async def test_batch_kwargs_apply_to_every_object():
    people = await AsyncPerson.create_batch(3, name="same", company__country="DE")

    assert [p.name for p in people] == ["same"] * 3
    assert await Company.objects.filter(country="DE").acount() == 3


async def test_calling_the_factory_follows_meta_strategy_create():
    person = await AsyncPerson(name="called")

    assert person.pk is not None
    assert await Person.objects.filter(name="called").aexists()


async def test_calling_the_factory_follows_meta_strategy_build():
    class BuildPerson(AsyncPerson):
        class Meta:
            strategy = factory.BUILD_STRATEGY

    person = await BuildPerson(name="built")

    assert person.pk is None
    assert person.name == "built"
    assert await Person.objects.acount() == 0


async def test_calling_the_factory_follows_meta_strategy_stub():
    class StubPerson(AsyncPerson):
        class Meta:
            strategy = factory.STUB_STRATEGY

    stub = await StubPerson(name="stubbed")

    assert isinstance(stub, StubObject)
    assert stub.name == "stubbed"


async def test_reset_sequence_restarts_the_counter():
    await AsyncPerson.create_batch(2)
    AsyncPerson.reset_sequence(100)

    person = await AsyncPerson.build()

    assert person.name == "person-100"


async def test_results_can_be_used_with_the_async_orm_right_away():
    person = await AsyncPerson.create()

    assert await Person.objects.filter(company=person.company).acount() == 1
    reloaded = await Person.objects.select_related("company").aget(pk=person.pk)
    assert reloaded.company == person.company
