"""Concurrent calls: asyncio.gather of many creates, get_or_create races, a responsive event loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TypeVar

import factory
import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.db import IntegrityError, OperationalError, connection, connections

from app.factory import AsyncFactory
from tests.loops import run_in_own_event_loop
from tests.testapp.factories import CompanyFactory, PersonFactory, TeamFactory
from tests.testapp.models import Company, Person, Team

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"])

ROOT = Path(__file__).resolve().parent.parent
R = TypeVar("R")


class CompanyByName(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"goc-{n}")

    class Meta:
        model = Company
        django_get_or_create = ("name",)


# --- asyncio.gather in one event loop ---------------------------------------------------------------


async def test_gather_of_hundreds_of_creates_lands_every_row_with_unique_sequences():
    people = await asyncio.gather(*(PersonFactory.create() for _ in range(300)))

    assert len({p.pk for p in people}) == 300
    assert len({p.name for p in people}) == 300
    assert await Person.objects.acount() == 300
    assert await Company.objects.acount() == 300
    stored = {name async for name in Person.objects.values_list("name", flat=True)}
    assert stored == {p.name for p in people}


async def test_gather_of_batches_and_mixed_strategies():
    results = await asyncio.gather(
        *(TeamFactory.create_batch(10) for _ in range(20)),
        *(TeamFactory.build_batch(5) for _ in range(10)),
        *(TeamFactory.create() for _ in range(50)),
    )

    created = [t for r in results[:20] for t in r] + list(results[30:])
    built = [t for r in results[20:30] for t in r]
    assert await Team.objects.acount() == 250
    assert all(t.pk is None for t in built)
    assert len({t.name for t in created + built}) == 300


async def test_gather_with_failures_keeps_the_rows_of_the_calls_that_succeed():
    await CompanyFactory.create(name="taken")

    results = await asyncio.gather(
        *(PersonFactory.create(company__name="taken" if i % 3 == 0 else f"free {i}") for i in range(30)),
        return_exceptions=True,
    )

    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 10
    assert all(isinstance(f, IntegrityError) for f in failures)
    assert await Person.objects.acount() == 20
    assert await Company.objects.acount() == 21


async def test_concurrent_get_or_create_on_one_key_gives_one_row():
    companies = await asyncio.gather(*(CompanyByName.create(name="same") for _ in range(100)))

    assert len({c.pk for c in companies}) == 1
    assert await Company.objects.acount() == 1


# --- event loop started by the application (no pytest plugin), several connections -----------------


async def close_this_threads_connections() -> None:
    await sync_to_async(connections.close_all)()


def test_gather_in_an_application_event_loop():
    async def main() -> int:
        try:
            people = await asyncio.gather(*(PersonFactory.create() for _ in range(200)))
            return len({p.pk for p in people})
        finally:
            await close_this_threads_connections()

    assert run_in_own_event_loop(main) == 200
    assert Person.objects.count() == 200


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory SQLite test database allows one writing connection (shared cache); "
    "test_many_connections_on_a_sqlite_file covers SQLite",
)
def test_many_connections_create_and_race_on_get_or_create():
    # Each ThreadSensitiveContext (as each ASGI request in Django) gets a thread and a connection.
    async def client(n: int) -> list[Any]:
        async with ThreadSensitiveContext():
            try:
                made = [await PersonFactory.create() for _ in range(n)]
                for attempt in range(5):
                    try:
                        made.append(await CompanyByName.create(name="raced"))
                        return made
                    except OperationalError as exc:  # InnoDB may break a lock cycle (docs/databases.md)
                        if attempt == 4 or "Fix: retry the call." not in exc.__notes__[-1]:
                            raise
                raise AssertionError("unreachable")
            finally:
                await close_this_threads_connections()

    async def main() -> list[list[Any]]:
        return await asyncio.gather(*(client(20) for _ in range(8)))

    results = run_in_own_event_loop(main)

    assert Person.objects.count() == 160
    assert len(set(Person.objects.values_list("name", flat=True))) == 160
    assert len({r[-1].pk for r in results}) == 1
    assert Company.objects.filter(name="raced").count() == 1


MEETING = {"callers": threading.Barrier(2)}


class Locker(AsyncFactory[Person]):
    """Its hook locks two companies in the order given, meeting the other caller in between."""

    name = "locker"

    class Meta:
        model = Person
        skip_postgeneration_save = True

    @factory.post_generation
    def lock(self, create: bool, extracted: tuple[str, str], **kwargs: Any) -> None:
        first, second = extracted
        list(Company.objects.select_for_update().filter(name=first))
        MEETING["callers"].wait(timeout=30)
        list(Company.objects.select_for_update().filter(name=second))


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite has one writer: no two transactions to deadlock")
def test_a_call_the_database_rolls_back_for_a_deadlock_says_so_and_can_be_retried():
    Company.objects.bulk_create([Company(name="a"), Company(name="b")])
    MEETING["callers"] = threading.Barrier(2)

    async def client(order: tuple[str, str]) -> Any:
        async with ThreadSensitiveContext():
            try:
                return await Locker.create(lock=order)
            except Exception as exc:
                return exc
            finally:
                await close_this_threads_connections()

    async def main() -> list[Any]:
        return await asyncio.gather(client(("a", "b")), client(("b", "a")))

    outcomes = run_in_own_event_loop(main)

    [error] = [o for o in outcomes if isinstance(o, Exception)]
    assert isinstance(error, OperationalError), error
    assert "Locker: the database rolled this call back to break a deadlock" in "\n".join(error.__notes__)
    assert "Fix: retry the call." in error.__notes__[-1]
    assert Person.objects.count() == 1  # the other call, not a part of the rolled-back one

    MEETING["callers"] = threading.Barrier(1)  # alone now
    assert isinstance(run_in_own_event_loop(lambda: client(("a", "b"))), Person)
    assert Person.objects.count() == 2


SQLITE_FILE_SCRIPT = """
import asyncio
import django

django.setup()
from django.core.management import call_command

call_command("migrate", verbosity=0)

import factory
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.db import connections

from app.factories import FriendFactory, UserFactory
from app.factory import AsyncFactory
from app.models import Friend, User


class UserByName(AsyncFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("name",)


async def client(n):
    async with ThreadSensitiveContext():
        try:
            made = [await FriendFactory.create() for _ in range(n)]
            same = await UserByName.create(name="raced")
            return made, same.pk
        finally:
            await sync_to_async(connections.close_all)()


async def main():
    users = await asyncio.gather(*(UserFactory.create() for _ in range(200)))
    clients = await asyncio.gather(*(client(15) for _ in range(6)))
    friends = sum(len(made) for made, _ in clients)
    raced = len({pk for _, pk in clients})
    print(len({u.pk for u in users}), friends, raced, await User.objects.acount(), await Friend.objects.acount())


asyncio.run(main())
"""


@pytest.mark.django_db(transaction=False)
def test_many_connections_on_a_sqlite_file(tmp_path: Path):
    # The project's SQLite settings (a file, BEGIN IMMEDIATE, a busy timeout): concurrent writers
    # on several connections wait for each other instead of failing with "database is locked".
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'concurrency.sqlite3'}"}
    env["DJANGO_SETTINGS_MODULE"] = "settings"
    env.pop("TEST_DATABASE_NAME", None)

    done = subprocess.run(
        [sys.executable, "-c", SQLITE_FILE_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    # 200 users, 6 x 15 friendships (two new users each), one user for the raced name.
    assert done.stdout.split() == ["200", "90", "1", str(200 + 180 + 1), "90"]


# --- a responsive event loop ------------------------------------------------------------------------


async def test_event_loop_keeps_running_while_a_sync_hook_blocks():
    hook_thread: list[int] = []

    def slow_hook(obj: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
        hook_thread.append(threading.get_ident())
        time.sleep(0.5)  # a slow sync hook: must not block the event loop

    class Slow(AsyncFactory[Team]):
        name = "slow"
        wait = factory.PostGeneration(slow_hook)

        class Meta:
            model = Team
            skip_postgeneration_save = True

    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    await Slow.create()
    stop.set()
    await ticking

    assert hook_thread[0] != threading.get_ident()
    assert ticks >= 5  # about 50 expected; generous for a busy machine


async def test_event_loop_keeps_running_during_slow_database_work():
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    await PersonFactory.create_batch(200)
    stop.set()
    await ticking

    assert ticks >= 5
    assert await Person.objects.acount() == 200
