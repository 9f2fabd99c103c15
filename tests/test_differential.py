"""Differential tests: AsyncFactory and plain DjangoModelFactory give the same values and rows.

Hypothesis picks declarations (Sequence, Faker, LazyFunction, LazyAttribute, SelfAttribute,
SubFactory, Trait, Maybe, RelatedFactory, post_generation) and call arguments (including
``__`` overrides); the same definitions are turned into an async factory tree and a sync
one, both run with the same Faker seed and fresh sequences, and their results are compared.
Batches are compared three ways: ``create_batch`` (in bulk where nothing observable differs), the
same with ``Meta.bulk_batches = False`` (one save per object) and factory_boy's. Simple factory
trees, which the async side makes from a plan (``plans.Plan``), get their own test, in batches
and with ``bulk_create_batch``.
"""

from __future__ import annotations

from typing import Any

import factory
import factory.fuzzy
import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from factory.django import DjangoModelFactory
from factory.random import reseed_random
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.factory import AsyncFactory
from app.factory.plans import simple_plan
from tests.testapp.models import Address, Company, Person

NAME = {
    "sequence": lambda: factory.Sequence(lambda n: f"person {n}"),
    "faker": lambda: factory.Faker("name"),
    "lazy_function": lambda: factory.LazyFunction(lambda: "lazy"),
}
EMAIL = {
    "lazy_attribute": lambda: factory.LazyAttribute(lambda o: f"{o.name.replace(' ', '.')}@example.org"),
    "self_attribute": lambda: factory.SelfAttribute("name"),
    "constant": lambda: "static@example.org",
}
COUNTRY = {
    "from_company": lambda: factory.SelfAttribute("company.country"),
    "iterator": lambda: factory.Iterator(["FR", "DE", "IT"]),
    "faker": lambda: factory.Faker("country_code"),
}


def company_factory(base: type[Any], database: str = "default") -> type[Any]:
    """A simple Company factory on ``base`` (AsyncFactory or DjangoModelFactory)."""
    return type(
        "CompanyF",
        (base,),
        {
            "Meta": type("Meta", (), {"model": Company, "database": database}),
            "name": factory.Sequence(lambda n: f"company {n}"),
            "country": factory.Faker("country_code"),
        },
    )


def make_factories(base: type[Any], choice: dict[str, Any], database: str = "default", **meta: Any) -> type[Any]:
    """Build a Person factory tree on ``base`` (AsyncFactory or DjangoModelFactory) writing to ``database``;
    ``meta``: more Meta options of the Person factory."""

    company = company_factory(base, database)
    address = type(
        "AddressF",
        (base,),
        {
            "Meta": type("Meta", (), {"model": Address, "database": database}),
            "city": factory.Faker("city"),
        },
    )
    attrs: dict[str, Any] = {
        "Meta": type("Meta", (), {"model": Person, "database": database, "skip_postgeneration_save": True, **meta}),
        "Params": type("Params", (), {"vip": factory.Trait(rank=100), "lucky": False}),
        "name": NAME[choice["name"]](),
        "email": EMAIL[choice["email"]](),
        "company": factory.SubFactory(company) if choice["company"] else None,
        "country": COUNTRY[choice["country"] if choice["company"] else "iterator"](),
        "rank": factory.Maybe("lucky", yes_declaration=7, no_declaration=1),
    }
    if choice["related"]:
        attrs["addresses"] = factory.RelatedFactory(address, "person", city=factory.SelfAttribute("..name"))
    if choice["hook"]:

        def bump(obj: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
            obj.rank += extracted or 0
            if create:
                obj.save()

        attrs["bump"] = factory.PostGeneration(bump)
    return type("PersonF", (base,), attrs)


choices = st.fixed_dictionaries(
    {
        "name": st.sampled_from(sorted(NAME)),
        "email": st.sampled_from(sorted(EMAIL)),
        "country": st.sampled_from(sorted(COUNTRY)),
        "company": st.booleans(),
        "related": st.booleans(),
        "hook": st.booleans(),
    }
)


@st.composite
def calls(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], int]:
    choice = draw(choices)
    kwargs: dict[str, Any] = {}
    if draw(st.booleans()):
        kwargs["name"] = draw(st.sampled_from(["Ada", "Grace Hopper"]))
    if draw(st.booleans()):
        kwargs["vip"] = True
    if draw(st.booleans()):
        kwargs["lucky"] = True
    if choice["company"] and draw(st.booleans()):
        kwargs["company__name"] = "ACME"
    if choice["related"] and draw(st.booleans()):
        kwargs["addresses__city"] = "Lyon"
    if choice["hook"] and draw(st.booleans()):
        kwargs["bump"] = draw(st.integers(0, 5))
    return choice, kwargs, draw(st.integers(0, 2**16))


def snapshot(person: Person) -> dict[str, Any]:
    company = person.company
    return {
        "name": person.name,
        "email": person.email,
        "country": person.country,
        "rank": person.rank,
        "company": None if company is None else (company.name, company.country),
        "saved_rank": Person.objects.get(pk=person.pk).rank if person.pk else None,
        "cities": sorted(Address.objects.filter(person=person).values_list("city", flat=True)) if person.pk else [],
    }


def counts() -> tuple[int, int, int]:
    return Person.objects.count(), Company.objects.count(), Address.objects.count()


def run_rolled_back(make: Any, seed: int) -> tuple[list[dict[str, Any]], tuple[int, ...], list[bool]]:
    """Values, new rows and saved-ness of the objects ``make()`` returns; its rows are rolled back afterwards."""
    with transaction.atomic():
        before = counts()
        reseed_random(seed)
        result = make()
        rows = tuple(a - b for a, b in zip(counts(), before, strict=True))
        values = [snapshot(person) for person in result]
        transaction.set_rollback(True)
    return values, rows, [person.pk is not None for person in result]


@pytest.mark.django_db
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=calls(), create=st.booleans())
def test_async_and_sync_factories_agree(call: tuple[dict[str, Any], dict[str, Any], int], create: bool) -> None:
    choice, kwargs, seed = call
    method = "create" if create else "build"
    async_factory = make_factories(AsyncFactory, choice)
    sync_factory = make_factories(DjangoModelFactory, choice)

    # async_to_sync from pytest's thread: the async call's queries run in this thread, inside
    # the savepoint that run_rolled_back opens.
    async_side = run_rolled_back(lambda: [async_to_sync(getattr(async_factory, method))(**kwargs)], seed)
    sync_side = run_rolled_back(lambda: [getattr(sync_factory, method)(**kwargs)], seed)

    assert async_side == sync_side
    assert async_side[2] == [create]


@pytest.mark.django_db
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=calls(), size=st.integers(2, 6))
def test_create_batch_agrees_with_factory_boy_in_bulk_and_one_by_one(
    call: tuple[dict[str, Any], dict[str, Any], int], size: int
) -> None:
    # create_batch inserts in bulk where nothing observable differs (sizes from BULK_BATCH_MIN_SIZE, no
    # post-generation); Meta.bulk_batches = False saves one object at a time: both make factory_boy's objects.
    choice, kwargs, seed = call
    kwargs.pop("company__name", None)  # Company names are unique: one per batch
    bulk = make_factories(AsyncFactory, choice)
    one_by_one = make_factories(AsyncFactory, choice, bulk_batches=False)
    sync_factory = make_factories(DjangoModelFactory, choice)

    bulk_side = run_rolled_back(lambda: async_to_sync(bulk.create_batch)(size, **kwargs), seed)
    one_by_one_side = run_rolled_back(lambda: async_to_sync(one_by_one.create_batch)(size, **kwargs), seed)
    sync_side = run_rolled_back(lambda: sync_factory.create_batch(size, **kwargs), seed)

    assert bulk_side == one_by_one_side == sync_side
    assert bulk_side[2] == [True] * size


# --- simple factories: made from a plan, without factory_boy's per-object machinery -----------------

SIMPLE_NAME = {
    "sequence": lambda: factory.Sequence(lambda n: f"person {n}"),
    "faker": lambda: factory.Faker("name"),
    "lazy_function": lambda: factory.LazyFunction(lambda: "lazy"),
    "fuzzy": lambda: factory.fuzzy.FuzzyText(length=8),
    "constant": lambda: "Constant",
}
SIMPLE_COUNTRY = {
    "iterator": lambda: factory.Iterator(["FR", "DE", "IT"]),
    "fuzzy_choice": lambda: factory.fuzzy.FuzzyChoice(["NL", "BE"]),
    "faker": lambda: factory.Faker("country_code", representation="alpha-3"),
}
SIMPLE_RANK = {
    "fuzzy_integer": lambda: factory.fuzzy.FuzzyInteger(1, 99),
    "skip": lambda: factory.declarations.SKIP,
    "sequence": lambda: factory.Sequence(lambda n: n * 10),
}


def make_simple_factory(base: type[Any], choice: dict[str, Any]) -> type[Any]:
    """A Person factory tree on ``base`` with only the declarations a plan makes itself."""
    company = company_factory(base)
    attrs: dict[str, Any] = {
        "Meta": type("Meta", (), {"model": Person}),
        "name": SIMPLE_NAME[choice["name"]](),
        "email": factory.Faker("email"),
        "country": SIMPLE_COUNTRY[choice["country"]](),
        "rank": SIMPLE_RANK[choice["rank"]](),
        "company": factory.SubFactory(company) if choice["company"] else None,
    }
    return type("PersonS", (base,), attrs)


@st.composite
def simple_calls(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], int, int]:
    choice = draw(
        st.fixed_dictionaries(
            {
                "name": st.sampled_from(sorted(SIMPLE_NAME)),
                "country": st.sampled_from(sorted(SIMPLE_COUNTRY)),
                "rank": st.sampled_from(sorted(SIMPLE_RANK)),
                "company": st.booleans(),
            }
        )
    )
    kwargs: dict[str, Any] = {}
    if draw(st.booleans()):
        kwargs["name"] = draw(st.sampled_from(["Ada", "Grace Hopper"]))
    if draw(st.booleans()):
        kwargs["rank"] = draw(st.sampled_from([factory.declarations.SKIP, 3]))
    if choice["company"] and draw(st.booleans()):
        kwargs["company"] = None
    return choice, kwargs, draw(st.integers(1, 3)), draw(st.integers(0, 2**16))


@pytest.mark.django_db
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=simple_calls(), method=st.sampled_from(["create_batch", "build_batch", "bulk_create_batch"]))
def test_simple_factories_made_from_a_plan_agree_with_factory_boy(
    call: tuple[dict[str, Any], dict[str, Any], int, int], method: str
) -> None:
    choice, kwargs, size, seed = call
    async_factory = make_simple_factory(AsyncFactory, choice)
    sync_factory = make_simple_factory(DjangoModelFactory, choice)
    assert simple_plan(async_factory) is not None  # else this compares factory_boy's builder with itself

    async_side = run_rolled_back(lambda: async_to_sync(getattr(async_factory, method))(size, **kwargs), seed)
    sync_method = "build_batch" if method == "build_batch" else "create_batch"
    sync_side = run_rolled_back(lambda: getattr(sync_factory, sync_method)(size, **kwargs), seed)

    assert async_side == sync_side
    assert async_side[2] == [method != "build_batch"] * size
