"""Simple factories, made from a plan (``app.factory.plans.Plan``) instead of factory_boy's
per-object machinery: whatever the builder does that users see, a plan does too.

``tests/test_differential.py`` compares the values and rows with plain factory_boy; these tests
cover the rest: hooks a user overrides, async declarations, errors and their notes, signals,
cancellation, and the factories that must not be planned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import factory
import faker.providers
import pytest
from django.db.models.signals import post_save

from app.factory import AsyncFactory, mute_signals
from app.factory.errors import IteratorExhaustedError
from app.factory.plans import simple_plan
from tests.rows import empty
from tests.testapp.models import Company, Person

pytestmark = pytest.mark.django_db(transaction=True)


class PlainCompany(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"company {n}")

    class Meta:
        model = Company


class PlainPerson(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"person {n}")
    company = factory.SubFactory(PlainCompany)

    class Meta:
        model = Person


def test_these_factories_are_made_from_a_plan_and_these_are_not():
    class WithParams(PlainPerson):
        class Params:
            vip = factory.Trait(rank=100)

    class WithLazyAttribute(PlainPerson):
        email = factory.LazyAttribute(lambda o: f"{o.name}@example.org")

    class WithContext(PlainPerson):
        company__name = "ACME"

    class WithGetOrCreate(PlainCompany):
        class Meta:
            django_get_or_create = ("name",)

    class WithPostGeneration(PlainPerson):
        class Meta:
            skip_postgeneration_save = True

        @factory.post_generation
        def hook(self, create: bool, extracted: Any, **kwargs: Any) -> None:
            pass

    assert simple_plan(PlainPerson) is not None
    for factory_class in (WithParams, WithLazyAttribute, WithContext, WithGetOrCreate, WithPostGeneration):
        assert simple_plan(factory_class) is None, factory_class


async def test_an_overridden_create_and_build_are_called_for_every_object():
    class Prefixed(AsyncFactory[Company]):
        name = factory.Sequence(lambda n: f"c{n}")

        class Meta:
            model = Company

        @classmethod
        def _create(cls, model_class: type[Company], *args: Any, **kwargs: Any) -> Company:
            kwargs["name"] = f"created:{kwargs['name']}"
            return super()._create(model_class, *args, **kwargs)

        @classmethod
        def _build(cls, model_class: type[Company], *args: Any, **kwargs: Any) -> Company:
            kwargs["name"] = f"built:{kwargs['name']}"
            return super()._build(model_class, *args, **kwargs)

    Prefixed.reset_sequence()
    created = await Prefixed.create_batch(2)
    built = await Prefixed.build_batch(1)
    bulk = await Prefixed.bulk_create_batch(1)

    assert [c.name for c in created] == ["created:c0", "created:c1"]
    assert [c.name for c in built] == ["built:c2"]
    assert [c.name for c in bulk] == ["created:c3"]
    assert {c.name async for c in Company.objects.all()} == {"created:c0", "created:c1", "created:c3"}


async def test_an_overridden_generate_is_called_for_every_object():
    calls: list[str] = []

    class Logged(PlainCompany):
        @classmethod
        def _generate(cls, strategy: str, params: dict[str, Any]) -> Company:
            calls.append(strategy)
            return super()._generate(strategy, params)

    await Logged.create_batch(2)
    await Logged.build()

    assert calls == ["create", "create", "build"]


async def test_async_lazy_functions_are_awaited():
    async def city() -> str:
        await asyncio.sleep(0)
        return "Lyon"

    class AsyncCountry(AsyncFactory[Company]):
        name = factory.Sequence(lambda n: f"async {n}")
        country = factory.LazyFunction(city)

        class Meta:
            model = Company

    companies = await AsyncCountry.create_batch(2)

    assert [c.country for c in companies] == ["Lyon", "Lyon"]
    assert await Company.objects.filter(country="Lyon").acount() == 2


class _EnglishProbe(faker.providers.BaseProvider):
    def plan_probe(self, suffix: str = "") -> str:
        return f"en{suffix}"


class _FrenchProbe(faker.providers.BaseProvider):
    def plan_probe(self, suffix: str = "") -> str:
        return f"fr{suffix}"


class _ReplacedProbe(faker.providers.BaseProvider):
    def plan_probe(self, suffix: str = "") -> str:
        return f"replaced{suffix}"


async def test_faker_values_follow_providers_added_later_and_the_default_locale():
    factory.Faker.add_provider(_EnglishProbe, locale="en_US")
    factory.Faker.add_provider(_FrenchProbe, locale="fr_FR")

    class Probed(AsyncFactory[Person]):
        name = factory.Faker("plan_probe", suffix="!")
        country = factory.Faker("plan_probe", locale="fr_FR")
        company = None

        class Meta:
            model = Person

    assert simple_plan(Probed) is not None
    first = await Probed.create()
    factory.Faker.add_provider(_ReplacedProbe, locale="en_US")
    replaced = await Probed.bulk_create_batch(1)
    with factory.Faker.override_default_locale("fr_FR"):
        overridden = await Probed.build()

    assert (first.name, first.country) == ("en!", "fr")
    assert (replaced[0].name, replaced[0].country) == ("replaced!", "fr")
    assert (overridden.name, overridden.country) == ("fr!", "fr")


def failing_name() -> str:
    raise ValueError("no name today")


async def test_an_error_in_a_sub_factory_carries_the_notes_of_both_factories_and_leaves_nothing():
    class FailingCompany(PlainCompany):
        name = factory.LazyFunction(failing_name)

    class FailingPerson(PlainPerson):
        company = factory.SubFactory(FailingCompany)

    assert simple_plan(FailingPerson) is not None
    with pytest.raises(ValueError, match="no name today") as raised:
        await FailingPerson.create_batch(2)

    assert raised.value.__notes__ == [
        "(raised while FailingCompany computed 'name')",
        "(raised while FailingPerson computed 'company')",
    ]
    assert await empty(Person, Company)


async def test_an_exhausted_iterator_names_the_factory_and_declaration_and_leaves_nothing():
    class TwoNames(AsyncFactory[Company]):
        name = factory.Iterator(["a", "b"], cycle=False)

        class Meta:
            model = Company

    with pytest.raises(IteratorExhaustedError, match=r"TwoNames\.name raised StopIteration"):
        await TwoNames.create_batch(3)

    assert await empty(Company)


@pytest.fixture
def post_saves() -> Iterator[list[str]]:
    seen: list[str] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(sender.__name__)

    post_save.connect(receiver, weak=False)
    yield seen
    post_save.disconnect(receiver)


async def test_mute_signals_on_a_simple_factory_class_mutes_its_calls(post_saves: list[str]):
    @mute_signals(post_save)
    class Muted(PlainPerson):
        pass

    await Muted.create_batch(2)
    await PlainPerson.create()

    assert post_saves == ["Company", "Person"]  # from PlainPerson only


async def test_a_cancelled_batch_stops_at_an_object_boundary_and_leaves_nothing():
    made = []

    class Counted(PlainPerson):
        email = factory.LazyFunction(lambda: made.append(1) or "counted@example.org")

    task = asyncio.ensure_future(Counted.create_batch(20_000))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # returns once the call has stopped and rolled back

    assert 0 < len(made) < 20_000
    assert await empty(Person, Company)
