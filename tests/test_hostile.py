"""What a hostile run broke (issue 10): each case fails without its fix, on every backend."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import factory
import pytest
from django.conf import settings
from django.db.models.signals import post_save
from django.test import override_settings

from app.factories import FriendFactory, UserFactory
from app.factory import AsyncFactory, CleanModelFactory, mute_signals
from app.factory.errors import FactoryCycleError, IteratorExhaustedError
from app.models import Friend, User
from tests.rows import row_counts
from tests.testapp.models import (
    Audited,
    AuditLog,
    Document,
    GetQuerySetManaged,
    Person,
    QuerySetManaged,
    Routed,
    RoutedChild,
    SavedLabel,
)

# Transactional: the one-row create() and the cancellation paths only exist outside a test transaction.
APPS = ["app", "tests.testapp"]
pytestmark = pytest.mark.django_db(transaction=True, available_apps=APPS)


class BoomError(Exception):
    pass


def fail_on(n: int, value: str = "x") -> Any:
    """A LazyFunction value that raises BoomError the ``n``-th time it is computed."""
    calls = iter(range(1, 10**9))

    def compute() -> str:
        call = next(calls)
        if call == n:
            raise BoomError(f"object {n}")
        return f"{value} {call}"

    return factory.LazyFunction(compute)


# --- 1. database routers --------------------------------------------------------------------------

routed = pytest.mark.django_db(transaction=True, databases=["default", "other"], available_apps=APPS)
with_router = override_settings(DATABASE_ROUTERS=["tests.routers.OtherRouter"])


class RoutedFactory(AsyncFactory[Routed]):
    class Meta:
        model = Routed
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"routed {n}")

    @factory.post_generation
    def fail(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted and self.name.endswith("3"):
            raise BoomError("the third object, after the first two were inserted")


async def routed_rows() -> tuple[int, int]:
    return await Routed.objects.using("default").acount(), await Routed.objects.using("other").acount()


@routed
@with_router
@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_a_batch_routed_to_another_database_is_all_or_nothing(method: str) -> None:
    names = iter(f"batch {i}" for i in range(1, 4))
    with pytest.raises(BoomError):
        await getattr(RoutedFactory, method)(3, name=factory.LazyFunction(lambda: next(names)), fail=True)
    assert await routed_rows() == (0, 0)

    await getattr(RoutedFactory, method)(3)
    assert await routed_rows() == (0, 3)


class RoutedChildFactory(AsyncFactory[RoutedChild]):
    class Meta:
        model = RoutedChild

    parent = factory.SubFactory(RoutedFactory)
    label = factory.Sequence(lambda n: f"child {n}")


@routed
@with_router
@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_parents_and_children_routed_to_another_database_are_linked_there(method: str) -> None:
    children = await getattr(RoutedChildFactory, method)(3)

    stored = [c async for c in RoutedChild.objects.using("other").order_by("pk").values_list("label", "parent__name")]
    assert stored == [(c.label, c.parent.name) for c in children]
    assert {(c._state.db, c.parent._state.db) for c in children} == {("other", "other")}
    assert (await RoutedChild.objects.using("default").acount(), *await routed_rows()) == (0, 0, 3)


class PersonWithRoutedFactory(AsyncFactory[Person]):
    """A graph spanning two databases: the Person on default, the Routed rows on other."""

    class Meta:
        model = Person
        skip_postgeneration_save = True

    name = "spanning"
    routed = factory.RelatedFactoryList(RoutedFactory, size=2)

    @factory.post_generation
    def fail(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            raise BoomError("after both databases were written")


@routed
@with_router
async def test_a_graph_spanning_two_databases_rolls_back_on_both() -> None:
    with pytest.raises(BoomError):
        await PersonWithRoutedFactory.create(fail=True)
    assert (await Person.objects.acount(), *await routed_rows()) == (0, 0, 0)

    await PersonWithRoutedFactory.create()
    assert (await Person.objects.acount(), *await routed_rows()) == (1, 0, 2)


class PersonCreatingRoutedInAHook(AsyncFactory[Person]):
    """An async hook whose own factory call writes to a database the outer graph does not reach."""

    class Meta:
        model = Person
        skip_postgeneration_save = True

    name = "hook"

    @factory.post_generation
    async def routed(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        await RoutedFactory.create()
        if extracted:
            raise BoomError("after the nested call returned")


@routed
@with_router
async def test_a_nested_call_to_another_database_joins_the_outer_transaction() -> None:
    with pytest.raises(BoomError):
        await PersonCreatingRoutedInAHook.create(routed=True)
    assert (await Person.objects.acount(), *await routed_rows()) == (0, 0, 0)


# --- 2. the one-row create() ----------------------------------------------------------------------


class AuditedFactory(AsyncFactory[Audited]):
    class Meta:
        model = Audited

    name = factory.Sequence(lambda n: f"audited {n}")


async def test_a_save_override_that_writes_then_fails_leaves_no_row() -> None:
    with pytest.raises(ValueError, match="save\\(\\) refused"):
        await AuditedFactory.create(name="fail once")
    assert (await Audited.objects.acount(), await AuditLog.objects.acount()) == (0, 0)


class PersonFactory(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"person {n}")


async def test_the_transaction_is_decided_when_the_call_runs_not_when_it_is_made() -> None:
    def receiver(sender: Any, instance: Person, created: bool, **kwargs: Any) -> None:
        AuditLog.objects.create(entry=f"made by a receiver for {instance.name}")
        raise BoomError("receiver")

    with mute_signals(post_save):
        call = PersonFactory.create()  # made while post_save is muted by another task...
    post_save.connect(receiver, sender=Person, weak=False)
    try:
        with pytest.raises(BoomError):
            await call  # ...run after the mute ended: the receiver runs and fails
    finally:
        post_save.disconnect(receiver, sender=Person)
    assert (await Person.objects.acount(), await AuditLog.objects.acount()) == (0, 0)


# --- 3. bulk_create_batch does what create() does -------------------------------------------------


class QuerySetManagedFactory(AsyncFactory[QuerySetManaged]):
    class Meta:
        model = QuerySetManaged

    label = "x"


class GetQuerySetManagedFactory(AsyncFactory[GetQuerySetManaged]):
    class Meta:
        model = GetQuerySetManaged

    label = "x"


class SavedLabelFactory(AsyncFactory[SavedLabel]):
    class Meta:
        model = SavedLabel

    label = "x"


@pytest.mark.parametrize(
    ("factory_class", "label"),
    [
        (QuerySetManagedFactory, "queryset:x"),
        (GetQuerySetManagedFactory, "queryset:x"),
        (SavedLabelFactory, "saved:x"),
    ],
    ids=["as_manager", "get_queryset", "save"],
)
@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_bulk_makes_what_create_makes(factory_class: Any, label: str, method: str) -> None:
    made = await getattr(factory_class, method)(2)
    model = factory_class._meta.model
    assert [o.label for o in made] == [label, label]
    assert [o.label async for o in model.objects.order_by("pk")] == [label, label]


async def test_bulk_sends_the_save_signals_create_sends() -> None:
    saved: list[str] = []

    def receiver(sender: Any, instance: Person, created: bool, **kwargs: Any) -> None:
        saved.append(instance.name)

    post_save.connect(receiver, sender=Person, weak=False)
    try:
        await PersonFactory.bulk_create_batch(2, name="signalled")
    finally:
        post_save.disconnect(receiver, sender=Person)
    assert saved == ["signalled", "signalled"]


# --- 4. StopIteration -----------------------------------------------------------------------------


class ThreeNamesFactory(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = factory.Iterator(["a", "b"], cycle=False)


@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch", "build_batch"])
async def test_an_exhausted_iterator_raises_at_once_naming_the_factory_and_declaration(method: str) -> None:
    ThreeNamesFactory.reset_sequence()
    ThreeNamesFactory.name.reset()
    with pytest.raises(IteratorExhaustedError, match=r"ThreeNamesFactory\.name raised StopIteration"):
        await asyncio.wait_for(getattr(ThreeNamesFactory, method)(3), timeout=30)
    assert await Person.objects.acount() == 0


async def test_next_on_an_exhausted_iterator_in_a_lazy_function_raises() -> None:
    names: Iterator[str] = iter([])
    with pytest.raises(IteratorExhaustedError, match=r"PersonFactory\.name"):
        await asyncio.wait_for(PersonFactory.create(name=factory.LazyFunction(lambda: next(names))), timeout=30)


class StopsInCreateFactory(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = "x"

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        raise StopIteration


async def test_stop_iteration_from_create_raises_naming_the_factory() -> None:
    with pytest.raises(IteratorExhaustedError, match=r"StopsInCreateFactory\._create"):
        await asyncio.wait_for(StopsInCreateFactory.create(), timeout=30)


# --- 5. cancellation ------------------------------------------------------------------------------


class Counted:
    made = 0

    @classmethod
    def name(cls) -> str:
        cls.made += 1
        time.sleep(0.002)
        return f"counted {cls.made}"


@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_a_cancelled_batch_stops_at_the_next_object_and_rolls_back(method: str) -> None:
    Counted.made = 0
    name = factory.LazyFunction(Counted.name)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(getattr(UserFactory, method)(2000, name=name), timeout=0.3)
    made_when_cancelled = Counted.made
    assert 0 < made_when_cancelled < 2000
    await asyncio.sleep(0.3)
    assert Counted.made == made_when_cancelled, "no object may be made after the caller saw the cancellation"
    assert await User.objects.acount() == 0


async def test_a_call_cancelled_before_it_starts_never_runs() -> None:
    Counted.made = 0
    blocker = asyncio.ensure_future(UserFactory.create_batch(100, name=factory.LazyFunction(Counted.name)))
    await asyncio.sleep(0.05)  # the blocker holds the ORM thread
    queued = asyncio.ensure_future(UserFactory.create(name="queued"))
    await asyncio.sleep(0)
    queued.cancel()
    await blocker
    await asyncio.sleep(0.05)
    assert not await User.objects.filter(name="queued").aexists()
    assert await User.objects.acount() == 100


# --- 7. errors that say what to fix ---------------------------------------------------------------


@pytest.mark.parametrize("size", ["3", 2.5, None, True])
@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch", "build_batch", "stub_batch"])
async def test_a_size_that_is_not_an_int_names_the_factory_and_the_argument(method: str, size: Any) -> None:
    with pytest.raises(TypeError, match=rf"UserFactory\.{method}\(size={size!r}\): size must be an int"):
        await getattr(UserFactory, method)(size)


async def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match=r"UserFactory\.create_batch\(size=-1\): size must be 0 or more"):
        await UserFactory.create_batch(-1)


async def test_a_wrong_foreign_key_type_in_bulk_names_the_factory() -> None:
    with pytest.raises(ValueError) as raised:
        await FriendFactory.bulk_create_batch(2, user="not a user")
    assert "(raised while FriendFactory made its create object)" in raised.value.__notes__
    assert await row_counts(User, Friend) == {"app.User": 0, "app.Friend": 0}


class CycleAFactory(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = factory.SubFactory("tests.test_hostile.CycleBFactory")


class CycleBFactory(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = factory.SubFactory(CycleAFactory)


@pytest.mark.parametrize("method", ["create", "bulk_create_batch"])
async def test_a_sub_factory_cycle_is_reported_once_naming_the_factories(method: str) -> None:
    args = (1,) if method == "bulk_create_batch" else ()
    with pytest.raises(FactoryCycleError) as raised:
        await getattr(CycleAFactory, method)(*args)
    message = str(raised.value)
    assert "CycleAFactory.name -> CycleBFactory.name -> CycleAFactory" in message
    assert isinstance(raised.value, RecursionError)
    assert not getattr(raised.value, "__notes__", None)
    assert len("".join(traceback.format_exception(raised.value)).splitlines()) < 60


# --- 10. files of a call that rolls back ----------------------------------------------------------


class DocumentFactory(AsyncFactory[Document]):
    class Meta:
        model = Document
        skip_postgeneration_save = True

    file = factory.django.FileField(filename="note.txt", data=b"hello")

    @factory.post_generation
    def fail(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            raise BoomError("after the file was written")


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("method", ["create", "create_batch", "bulk_create_batch"])
async def test_files_of_a_call_that_rolls_back_are_removed(method: str) -> None:
    args = (2,) if "batch" in method else ()
    before = stored_files()
    with pytest.raises(BoomError):
        await getattr(DocumentFactory, method)(*args, fail=True)
    assert stored_files() == before
    assert await Document.objects.acount() == 0

    made = await getattr(DocumentFactory, method)(*args)
    made = made if isinstance(made, list) else [made]
    assert stored_files() == before | {d.file.name for d in made}


async def test_a_file_given_by_name_is_never_removed() -> None:
    existing = Path(settings.MEDIA_ROOT) / "docs" / "kept.txt"
    existing.parent.mkdir(parents=True, exist_ok=True)
    existing.write_bytes(b"the user's")
    with pytest.raises(BoomError):
        await DocumentFactory.create(file="docs/kept.txt", fail=True)
    assert existing.read_bytes() == b"the user's"


CTRL_C_SCRIPT = """
import asyncio, django, factory, signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (&)
django.setup()
from app.factories import UserFactory

def name(calls=[]):
    calls.append(1)
    if len(calls) == 10:
        print("started", flush=True)
    return f"user {len(calls)}"

async def main():
    await UserFactory.create_batch(10**6, name=factory.LazyFunction(name))

asyncio.run(main())
print("finished", flush=True)
"""


def test_ctrl_c_during_a_batch_stops_it_and_rolls_it_back(project_database: Any) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT],
        cwd=Path(__file__).resolve().parent.parent,
        env={**project_database.env(), "DJANGO_SETTINGS_MODULE": "settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "started\n"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)  # the batch alone would take many minutes
    finally:
        process.kill()
    assert "finished" not in stdout
    assert "KeyboardInterrupt" in stderr
    assert project_database.count("app_user") == 0


async def test_the_next_call_after_a_cancelled_one_runs_on_its_own() -> None:
    # asyncio.timeout() cancels the call inside this very task (as wait_for does on Python 3.12+).
    Counted.made = 0
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await UserFactory.create_batch(2000, name=factory.LazyFunction(Counted.name))
    user = await UserFactory.create(name="after")
    users = await UserFactory.create_batch(2)
    assert user.pk and all(u.pk for u in users)
    assert await User.objects.acount() == 3


class ManagerOnOtherFactory(AsyncFactory[Routed]):
    """Sends its rows to "other" through an overridden _get_manager, not Meta.database."""

    class Meta:
        model = Routed
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"managed {n}")

    @classmethod
    def _get_manager(cls, model_class: type[Routed]) -> Any:
        return model_class.objects.db_manager("other")

    @factory.post_generation
    def fail(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            raise BoomError("after the rows were written")


class CleanManagerOnOtherFactory(ManagerOnOtherFactory, CleanModelFactory[Routed]):
    """The same, saved by CleanModelFactory's _create."""

    class Meta:
        model = Routed


@routed
@pytest.mark.parametrize("factory_class", [ManagerOnOtherFactory, CleanManagerOnOtherFactory])
@pytest.mark.parametrize("method", ["create", "create_batch", "bulk_create_batch"])
async def test_rows_sent_elsewhere_by_an_overridden_get_manager_are_all_or_nothing(
    factory_class: Any, method: str
) -> None:
    call = getattr(factory_class, method)
    sizes = () if method == "create" else (2,)
    with pytest.raises(BoomError):
        await call(*sizes, fail=True)
    assert await routed_rows() == (0, 0)

    await call(*sizes)
    assert await routed_rows() == (0, sum(sizes) or 1)
