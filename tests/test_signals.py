"""app.factory.mute_signals: on an AsyncFactory class, on an async def, with ``with`` and ``async with``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import factory
import pytest
from django.db import IntegrityError
from django.db.models.signals import post_save, pre_save

from app.factory import AsyncFactory, mute_signals
from tests.testapp.factories import CompanyFactory, PersonFactory, TeamFactory
from tests.testapp.models import Company, Person, Team

pytestmark = pytest.mark.django_db


class BoomError(Exception):
    pass


@pytest.fixture
def saved() -> Iterator[list[str]]:
    """Names of the models whose post_save and pre_save fired, in order ("pre:Model", "post:Model")."""
    seen: list[str] = []

    def on_pre_save(sender: Any, **kwargs: Any) -> None:
        seen.append(f"pre:{sender.__name__}")

    def on_post_save(sender: Any, **kwargs: Any) -> None:
        seen.append(f"post:{sender.__name__}")

    pre_save.connect(on_pre_save, weak=False, dispatch_uid="test_signals.pre")
    post_save.connect(on_post_save, weak=False, dispatch_uid="test_signals.post")
    yield seen
    pre_save.disconnect(dispatch_uid="test_signals.pre")
    post_save.disconnect(dispatch_uid="test_signals.post")


async def test_signals_fire_when_not_muted(saved: list[str]):
    await PersonFactory.create()

    assert saved == ["pre:Company", "post:Company", "pre:Person", "post:Person"]


# --- class decorator on an AsyncFactory ----------------------------------------------------------


async def join_team(obj: Person, create: bool, extracted: Any, **kwargs: Any) -> None:
    if create:
        await obj.teams.aadd(await Team.objects.acreate(name="joined in an async hook"))


@mute_signals(post_save)
class MutedPerson(AsyncFactory[Person]):
    name = factory.Sequence(lambda n: f"muted {n}")
    company = factory.SubFactory(CompanyFactory)
    address = factory.RelatedFactory("tests.testapp.factories.AddressFactory", factory_related_name="person")
    team = factory.PostGeneration(join_team)

    class Meta:
        model = Person
        skip_postgeneration_save = True


async def test_class_decorator_mutes_the_whole_call_including_sub_factories_and_hooks(saved: list[str]):
    await MutedPerson.create()

    assert not [s for s in saved if s.startswith("post:")]
    # Only the muted signal: pre_save still fires for every row of the call.
    assert saved == ["pre:Company", "pre:Person", "pre:Address", "pre:Team"]


async def test_class_decorator_mutes_batches(saved: list[str]):
    await MutedPerson.create_batch(3)

    assert saved.count("post:Person") == 0
    assert saved.count("pre:Person") == 3


async def test_class_decorator_restores_signals_after_the_call(saved: list[str]):
    await MutedPerson.create()
    saved.clear()

    await Company.objects.acreate(name="after")
    await CompanyFactory.create()

    assert saved == ["pre:Company", "post:Company", "pre:Company", "post:Company"]


async def test_class_decorator_restores_signals_after_a_failed_call(saved: list[str]):
    await CompanyFactory.create(name="taken")
    saved.clear()

    with pytest.raises(IntegrityError):  # the unique name; the text is the backend's (MySQL: "Duplicate entry")
        await MutedPerson.create(company__name="taken")
    await TeamFactory.create()

    assert saved[-2:] == ["pre:Team", "post:Team"]


async def test_class_decorator_under_gather_mutes_only_its_own_calls(saved: list[str]):
    await asyncio.gather(*(MutedPerson.create() for _ in range(3)), *(TeamFactory.create() for _ in range(3)))

    assert saved.count("post:Person") == 0
    assert saved.count("post:Team") == 3  # the unmuted factory's teams; not the hook's
    assert saved.count("pre:Team") == 6
    await CompanyFactory.create()
    assert saved[-1] == "post:Company"


async def test_class_decorator_on_a_factory_with_an_async_create(saved: list[str]):
    @mute_signals(pre_save, post_save)
    class MutedTeam(AsyncFactory[Team]):
        name = "async created"

        class Meta:
            model = Team

        @classmethod
        async def _create(cls, model_class: type[Team], *args: Any, **kwargs: Any) -> Team:
            return await model_class.objects.acreate(*args, **kwargs)

    team = await MutedTeam.create()
    assert saved == []

    await TeamFactory.create()
    assert team.pk is not None
    assert saved == ["pre:Team", "post:Team"]


# --- decorator on an async def -------------------------------------------------------------------


@mute_signals(post_save)
async def make_people(n: int) -> list[Person]:
    return [await PersonFactory.create() for _ in range(n)]


async def test_decorator_on_async_def_mutes_while_it_runs_and_restores(saved: list[str]):
    people = await make_people(2)
    assert len(people) == 2
    assert [s for s in saved if s.startswith("post:")] == []

    await TeamFactory.create()
    assert saved[-1] == "post:Team"


async def test_decorator_on_async_def_is_a_coroutine_function():
    assert inspect.iscoroutinefunction(make_people)
    assert make_people.__name__ == "make_people"


async def test_decorator_on_async_def_restores_after_an_exception(saved: list[str]):
    @mute_signals(post_save)
    async def fails() -> None:
        await PersonFactory.create()
        raise BoomError

    with pytest.raises(BoomError):
        await fails()
    await TeamFactory.create()

    assert saved[-2:] == ["pre:Team", "post:Team"]
    assert "post:Person" not in saved


async def test_decorated_async_def_called_concurrently_stays_muted_and_then_restores(saved: list[str]):
    # The first to start is the first to finish: the others must stay muted after it returns.
    await asyncio.gather(make_people(1), make_people(3), make_people(2))
    assert [s for s in saved if s.startswith("post:")] == []

    await TeamFactory.create()
    assert saved[-1] == "post:Team"
    assert post_save.has_listeners(Team)


# --- with and async with ---------------------------------------------------------------------------


async def test_with_block_around_awaited_calls(saved: list[str]):
    with mute_signals(post_save):
        await PersonFactory.create()
        await TeamFactory.create_batch(2)
    assert [s for s in saved if s.startswith("post:")] == []

    await TeamFactory.create()
    assert saved[-1] == "post:Team"


async def test_async_with_block(saved: list[str]):
    async with mute_signals(pre_save, post_save) as muted:
        assert isinstance(muted, mute_signals)
        await PersonFactory.create()
    assert saved == []

    await TeamFactory.create()
    assert saved == ["pre:Team", "post:Team"]


async def test_async_with_restores_after_an_exception(saved: list[str]):
    with pytest.raises(BoomError):
        async with mute_signals(post_save):
            await PersonFactory.create()
            raise BoomError

    await TeamFactory.create()
    assert saved[-1] == "post:Team"
    assert "post:Person" not in saved
