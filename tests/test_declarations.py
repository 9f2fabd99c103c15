"""Every factory_boy declaration gives the same result through AsyncFactory as through factory_boy.

Each test runs a plain DjangoModelFactory and its AsyncFactory twin from the same state (same
sequences, same random seed, empty tables) and compares what a user sees of the results.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import factory
import factory.fuzzy
import factory.random
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import User as AuthUser
from factory.django import DjangoModelFactory
from PIL import Image

from app.factory import AsyncFactory
from tests.testapp.models import Account, Address, Bag, Company, Document, Person, Team

pytestmark = pytest.mark.django_db

SEED = 20240601
TWINS: list[type[factory.Factory]] = []


def twin(cls: Any) -> Any:
    """Register a factory whose sequence is reset before each run of a comparison."""
    TWINS.append(cls)
    return cls


def reset_state() -> None:
    factory.random.reseed_random(SEED)
    for f in TWINS:
        f.reset_sequence(0)


def wipe() -> None:
    for model in (Address, Person, Company, Team, Document, Account, Bag, AuthUser):
        model.objects.all().delete()


async def same_as_factory_boy(
    make_async: Callable[[], Awaitable[Any]], make_sync: Callable[[], Any], see: Callable[[Any], Any]
) -> Any:
    """Run the sync and the async call from the same state; assert the user sees the same; return it."""
    reset_state()
    expected = await sync_to_async(lambda: see(make_sync()))()
    await sync_to_async(wipe)()
    reset_state()
    result = await make_async()
    actual = await sync_to_async(see)(result)
    assert actual == expected
    return actual


def person_view(p: Person) -> tuple[Any, ...]:
    company = p.company
    return (
        p.pk is not None,
        p.name,
        p.email,
        p.country,
        p.rank,
        None if company is None else (company.pk is not None, company.name, company.country),
    )


def people_view(people: list[Person]) -> list[tuple[Any, ...]]:
    return [person_view(p) for p in people]


# --- Twins -------------------------------------------------------------------------------


@twin
class ACompany(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"co-{n}")
    country = "IT"

    class Meta:
        model = Company


@twin
class SCompany(DjangoModelFactory[Company]):
    name = factory.Sequence(lambda n: f"co-{n}")
    country = "IT"

    class Meta:
        model = Company


@twin
class APerson(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"person-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.name}@example.com")
    country = factory.SelfAttribute("company.country")
    rank = factory.LazyFunction(lambda: 42)
    company = factory.SubFactory(ACompany)

    class Meta:
        model = Person


@twin
class SPerson(DjangoModelFactory[Person]):
    name = factory.Sequence(lambda n: f"person-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.name}@example.com")
    country = factory.SelfAttribute("company.country")
    rank = factory.LazyFunction(lambda: 42)
    company = factory.SubFactory(SCompany)

    class Meta:
        model = Person


# --- Sequence, LazyFunction, LazyAttribute, SelfAttribute, SubFactory --------------------


async def test_sequence_lazy_function_lazy_attribute_and_self_attribute_on_create():
    seen = await same_as_factory_boy(lambda: APerson.create_batch(3), lambda: SPerson.create_batch(3), people_view)
    assert [row[1] for row in seen] == ["person-0", "person-1", "person-2"]
    assert seen[0] == (True, "person-0", "person-0@example.com", "IT", 42, (True, "co-0", "IT"))


async def test_build_builds_sub_factories_unsaved():
    seen = await same_as_factory_boy(lambda: APerson.build(), lambda: SPerson.build(), person_view)
    assert seen[0] is False
    assert seen[5][0] is False
    assert await Company.objects.acount() == 0


async def test_overrides_reach_sub_factories_and_self_attributes():
    seen = await same_as_factory_boy(
        lambda: APerson.create(name="ada", company__country="DE"),
        lambda: SPerson.create(name="ada", company__country="DE"),
        person_view,
    )
    assert seen == (True, "ada", "ada@example.com", "DE", 42, (True, "co-0", "DE"))


async def test_sub_factory_accepts_an_existing_instance():
    company = await ACompany.create(name="existing")

    person = await APerson.create(company=company)

    assert person.company.pk == company.pk
    assert await Company.objects.acount() == 1


async def test_self_attribute_with_a_default_and_a_dotted_path():
    class WithDefault(AsyncFactory[Person]):
        name = "n"
        email = factory.SelfAttribute("missing", default="fallback@example.com")
        country = factory.SelfAttribute("company.name")
        company = factory.SubFactory(ACompany, name="Dotted")

        class Meta:
            model = Person

    person = await WithDefault.create()

    assert (person.email, person.country) == ("fallback@example.com", "Dotted")


@twin
class AAddressOfCountry(AsyncFactory[Address]):
    city = factory.Sequence(lambda n: f"city-{n}")
    person = factory.SubFactory(
        APerson,
        country=factory.SelfAttribute("..city"),
        email=factory.LazyAttribute(lambda o: f"from-{o.factory_parent.city}"),
    )

    class Meta:
        model = Address


@twin
class SAddressOfCountry(DjangoModelFactory[Address]):
    city = factory.Sequence(lambda n: f"city-{n}")
    person = factory.SubFactory(
        SPerson,
        country=factory.SelfAttribute("..city"),
        email=factory.LazyAttribute(lambda o: f"from-{o.factory_parent.city}"),
    )

    class Meta:
        model = Address


async def test_parent_self_attribute_and_factory_parent_in_a_sub_factory():
    seen = await same_as_factory_boy(
        lambda: AAddressOfCountry.create(),
        lambda: SAddressOfCountry.create(),
        lambda a: (a.city, person_view(a.person)),
    )
    assert seen[0] == "city-0"
    assert seen[1][2:4] == ("from-city-0", "city-0")


# --- Faker and fuzzy ------------------------------------------------------------------------


@twin
class AFaked(AsyncFactory[Person]):
    name = factory.Faker("name")
    email = factory.Faker("email")
    country = factory.Faker("country_code", locale="fr_FR")
    rank = factory.fuzzy.FuzzyInteger(0, 10_000)
    company = None

    class Meta:
        model = Person


@twin
class SFaked(DjangoModelFactory[Person]):
    name = factory.Faker("name")
    email = factory.Faker("email")
    country = factory.Faker("country_code", locale="fr_FR")
    rank = factory.fuzzy.FuzzyInteger(0, 10_000)
    company = None

    class Meta:
        model = Person


async def test_faker_and_fuzzy_values_match_factory_boy_under_the_same_seed():
    seen = await same_as_factory_boy(lambda: AFaked.create_batch(3), lambda: SFaked.create_batch(3), people_view)
    assert len({row[1] for row in seen}) == 3


async def test_fuzzy_choice_and_text():
    class Fuzzy(AsyncFactory[Team]):
        name = factory.fuzzy.FuzzyText(prefix="t-", length=6, chars="abc")

        class Meta:
            model = Team

    class SyncFuzzy(DjangoModelFactory[Team]):
        name = factory.fuzzy.FuzzyText(prefix="t-", length=6, chars="abc")

        class Meta:
            model = Team

    class Choice(AsyncFactory[Company]):
        name = factory.Sequence(str)
        country = factory.fuzzy.FuzzyChoice(["FR", "DE", "IT", "ES"])

        class Meta:
            model = Company

    class SyncChoice(DjangoModelFactory[Company]):
        name = factory.Sequence(str)
        country = factory.fuzzy.FuzzyChoice(["FR", "DE", "IT", "ES"])

        class Meta:
            model = Company

    names = await same_as_factory_boy(
        lambda: Fuzzy.create_batch(4), lambda: SyncFuzzy.create_batch(4), lambda ts: [t.name for t in ts]
    )
    assert all(len(n) == 8 and set(n[2:]) <= set("abc") for n in names)
    countries = await same_as_factory_boy(
        lambda: Choice.create_batch(6), lambda: SyncChoice.create_batch(6), lambda cs: [c.country for c in cs]
    )
    assert set(countries) <= {"FR", "DE", "IT", "ES"}


# --- Iterator ---------------------------------------------------------------------------------


async def test_iterator_over_a_list_cycles_like_factory_boy():
    class Cycling(AsyncFactory[Team]):
        name = factory.Iterator(["a", "b"])

        class Meta:
            model = Team

    class SyncCycling(DjangoModelFactory[Team]):
        name = factory.Iterator(["a", "b"])

        class Meta:
            model = Team

    names = await same_as_factory_boy(
        lambda: Cycling.create_batch(3), lambda: SyncCycling.create_batch(3), lambda ts: [t.name for t in ts]
    )
    assert names == ["a", "b", "a"]


async def test_iterator_over_a_queryset_is_evaluated_in_the_database_thread():
    first = await ACompany.create(name="first")
    second = await ACompany.create(name="second")

    class Employee(AsyncFactory[Person]):
        name = factory.Sequence(lambda n: f"e{n}")
        company = factory.Iterator(Company.objects.order_by("name"))
        country = factory.Iterator(Company.objects.order_by("name"), getter=lambda c: c.name)

        class Meta:
            model = Person

    people = await Employee.create_batch(3)

    assert [p.company.pk for p in people] == [first.pk, second.pk, first.pk]
    assert [p.country for p in people] == ["first", "second", "first"]


# --- RelatedFactory, RelatedFactoryList, post_generation ----------------------------------------


@twin
class AAddress(AsyncFactory[Address]):
    city = factory.Sequence(lambda n: f"city-{n}")

    class Meta:
        model = Address


@twin
class SAddress(DjangoModelFactory[Address]):
    city = factory.Sequence(lambda n: f"city-{n}")

    class Meta:
        model = Address


@twin
class APersonWithAddresses(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"p-{n}")
    company = None
    home = factory.RelatedFactory(AAddress, factory_related_name="person", city="Home")
    others = factory.RelatedFactoryList(AAddress, factory_related_name="person", size=2)

    class Meta:
        model = Person
        skip_postgeneration_save = True


@twin
class SPersonWithAddresses(DjangoModelFactory[Person]):
    name = factory.Sequence(lambda n: f"p-{n}")
    company = None
    home = factory.RelatedFactory(SAddress, factory_related_name="person", city="Home")
    others = factory.RelatedFactoryList(SAddress, factory_related_name="person", size=2)

    class Meta:
        model = Person
        skip_postgeneration_save = True


def addresses_view(person: Person) -> tuple[Any, ...]:
    return (person.name, sorted(Address.objects.filter(person=person).values_list("city", flat=True)))


async def test_related_factory_and_related_factory_list_create_rows_pointing_back():
    seen = await same_as_factory_boy(
        lambda: APersonWithAddresses.create(), lambda: SPersonWithAddresses.create(), addresses_view
    )
    # Home consumes the sequence too, as in factory_boy.
    assert seen == ("p-0", ["Home", "city-1", "city-2"])


async def test_related_factory_overrides():
    seen = await same_as_factory_boy(
        lambda: APersonWithAddresses.create(home__city="Rome", others__city="Oslo"),
        lambda: SPersonWithAddresses.create(home__city="Rome", others__city="Oslo"),
        addresses_view,
    )
    assert seen[1] == ["Oslo", "Oslo", "Rome"]


async def test_related_factories_on_build_save_nothing():
    await same_as_factory_boy(
        lambda: APersonWithAddresses.build(),
        lambda: SPersonWithAddresses.build(),
        lambda p: (p.pk, Address.objects.count(), Person.objects.count()),
    )


def add_teams(obj: Person, create: bool, extracted: Any, **kwargs: Any) -> Any:
    if not create:
        return "built"
    for name in extracted or [kwargs.get("default", "solo")]:
        obj.teams.add(Team.objects.get_or_create(name=name)[0])
    return sorted(t.name for t in obj.teams.all())


@twin
class ATeamed(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"p-{n}")
    company = None
    teams = factory.PostGeneration(add_teams)

    class Meta:
        model = Person
        skip_postgeneration_save = True


@twin
class STeamed(DjangoModelFactory[Person]):
    name = factory.Sequence(lambda n: f"p-{n}")
    company = None
    teams = factory.PostGeneration(add_teams)

    class Meta:
        model = Person
        skip_postgeneration_save = True


def teams_view(p: Person) -> tuple[Any, ...]:
    return (p.pk is not None, sorted(p.teams.values_list("name", flat=True)) if p.pk else None)


async def test_post_generation_receives_create_extracted_and_kwargs():
    assert await same_as_factory_boy(lambda: ATeamed.create(), lambda: STeamed.create(), teams_view) == (True, ["solo"])
    assert await same_as_factory_boy(
        lambda: ATeamed.create(teams=["x", "y"]), lambda: STeamed.create(teams=["x", "y"]), teams_view
    ) == (True, ["x", "y"])
    assert await same_as_factory_boy(
        lambda: ATeamed.create(teams__default="kw"), lambda: STeamed.create(teams__default="kw"), teams_view
    ) == (True, ["kw"])
    assert await same_as_factory_boy(lambda: ATeamed.build(), lambda: STeamed.build(), teams_view) == (False, None)


async def test_post_generation_method_call_and_its_save_match_factory_boy():
    class AUser(AsyncFactory[AuthUser]):
        username = factory.Sequence(lambda n: f"u{n}")
        password = factory.PostGenerationMethodCall("set_password", "default-pw")

        class Meta:
            model = AuthUser

    class SUser(DjangoModelFactory[AuthUser]):
        username = factory.Sequence(lambda n: f"u{n}")
        password = factory.PostGenerationMethodCall("set_password", "default-pw")

        class Meta:
            model = AuthUser

    def stored_password_checks(user: AuthUser) -> tuple[bool, bool]:
        stored = AuthUser.objects.get(pk=user.pk).password
        return check_password("default-pw", stored), check_password("given-pw", stored)

    # factory_boy saves again after post-generation hooks, with a DeprecationWarning.
    with (
        pytest.warns(DeprecationWarning, match="AUser._after_postgeneration"),
        pytest.warns(DeprecationWarning, match="SUser._after_postgeneration"),
    ):
        assert await same_as_factory_boy(AUser.create, SUser.create, stored_password_checks) == (True, False)
    with pytest.warns(DeprecationWarning):
        assert await same_as_factory_boy(
            lambda: AUser.create(password="given-pw"), lambda: SUser.create(password="given-pw"), stored_password_checks
        ) == (False, True)


# --- Traits, Params, Maybe, Dict, List --------------------------------------------------------


@twin
class ATraited(AsyncFactory[Person]):
    class Params:
        base = "ada"
        shouty = factory.Trait(name=factory.LazyAttribute(lambda o: o.base.upper()), rank=99)
        has_email = False

    name = factory.LazyAttribute(lambda o: o.base)
    email = factory.Maybe(
        "has_email", yes_declaration=factory.LazyAttribute(lambda o: f"{o.name}@mail"), no_declaration=""
    )
    company = None

    class Meta:
        model = Person


@twin
class STraited(DjangoModelFactory[Person]):
    class Params:
        base = "ada"
        shouty = factory.Trait(name=factory.LazyAttribute(lambda o: o.base.upper()), rank=99)
        has_email = False

    name = factory.LazyAttribute(lambda o: o.base)
    email = factory.Maybe(
        "has_email", yes_declaration=factory.LazyAttribute(lambda o: f"{o.name}@mail"), no_declaration=""
    )
    company = None

    class Meta:
        model = Person


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ("ada", "", 0)),
        ({"shouty": True}, ("ADA", "", 99)),
        ({"shouty": True, "base": "bob", "has_email": True}, ("BOB", "BOB@mail", 99)),
        ({"has_email": True, "email": "given"}, ("ada", "given", 0)),
    ],
)
async def test_traits_params_and_maybe(kwargs: dict[str, Any], expected: tuple[Any, ...]):
    seen = await same_as_factory_boy(
        lambda: ATraited.create(**kwargs), lambda: STraited.create(**kwargs), lambda p: (p.name, p.email, p.rank)
    )
    assert seen == expected


@twin
class ABag(AsyncFactory[Bag]):
    data = factory.Dict({"n": factory.Sequence(lambda n: n), "label": factory.LazyAttribute(lambda o: f"#{o.n}")})
    items = factory.List(["fixed", factory.Sequence(lambda n: f"item-{n}")])

    class Meta:
        model = Bag


@twin
class SBag(DjangoModelFactory[Bag]):
    data = factory.Dict({"n": factory.Sequence(lambda n: n), "label": factory.LazyAttribute(lambda o: f"#{o.n}")})
    items = factory.List(["fixed", factory.Sequence(lambda n: f"item-{n}")])

    class Meta:
        model = Bag


async def test_dict_and_list():
    seen = await same_as_factory_boy(
        lambda: ABag.create_batch(2, data__extra=True),
        lambda: SBag.create_batch(2, data__extra=True),
        lambda bags: [(b.data, b.items, Bag.objects.get(pk=b.pk).data) for b in bags],
    )
    assert seen[1][0] == {"n": 1, "label": "#1", "extra": True}
    assert seen[1][1] == ["fixed", "item-1"]


# --- factory.django: FileField, ImageField, Password -------------------------------------------


@twin
class ADocument(AsyncFactory[Document]):
    file = factory.django.FileField(filename="notes.txt", data=b"hello")
    image = factory.django.ImageField(width=12, height=7, color="red", format="PNG")

    class Meta:
        model = Document


@twin
class SDocument(DjangoModelFactory[Document]):
    file = factory.django.FileField(filename="notes.txt", data=b"hello")
    image = factory.django.ImageField(width=12, height=7, color="red", format="PNG")

    class Meta:
        model = Document


def document_view(doc: Document) -> tuple[Any, ...]:
    stored = Document.objects.get(pk=doc.pk)
    with stored.file.open("rb") as f:
        content = f.read()
    with stored.image.open("rb") as f:
        image = Image.open(io.BytesIO(f.read()))
        pixel = image.convert("RGB").getpixel((0, 0))
    return (stored.file.name.startswith("docs/notes"), content, image.size, pixel)


async def test_file_and_image_fields_are_written_and_saved():
    seen = await same_as_factory_boy(ADocument.create, SDocument.create, document_view)
    assert seen == (True, b"hello", (12, 7), (255, 0, 0))


async def test_file_field_overrides():
    seen = await same_as_factory_boy(
        lambda: ADocument.create(file__data=b"other", image__width=3),
        lambda: SDocument.create(file__data=b"other", image__width=3),
        document_view,
    )
    assert seen[1:3] == (b"other", (3, 7))


async def test_password_is_hashed_like_factory_boy():
    class AAccount(AsyncFactory[Account]):
        username = factory.Sequence(lambda n: f"acc{n}")
        password = factory.django.Password("s3cret")

        class Meta:
            model = Account

    account = await AAccount.create()
    other = await AAccount.create(password="given")

    stored = await Account.objects.aget(pk=account.pk)
    assert stored.password != "s3cret"
    assert check_password("s3cret", stored.password)
    assert check_password("given", (await Account.objects.aget(pk=other.pk)).password)
