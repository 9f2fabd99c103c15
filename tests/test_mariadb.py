"""MariaDB/MySQL (InnoDB): the promises whose behaviour depends on the backend.

Skipped unless the default database is MariaDB or MySQL (DATABASE_URL=mysql://...; `python3 dev.py
test` runs the suite there from TEST_MYSQL_URL). The rest of the suite runs there unchanged.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import factory
import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.db import DataError, IntegrityError, OperationalError, connection, connections

from app.factory import AsyncFactory, BulkCreateError
from tests.loops import run_in_own_event_loop
from tests.rows import empty, row_counts
from tests.testapp.factories import CompanyFactory, PersonFactory
from tests.testapp.models import Company, Person

pytestmark = [
    pytest.mark.skipif(connection.vendor != "mysql", reason="MariaDB/MySQL only: run with DATABASE_URL=mysql://..."),
    pytest.mark.django_db(transaction=True, available_apps=["tests.testapp"]),
]

R = TypeVar("R")
DEADLOCK = 1213  # ER_LOCK_DEADLOCK: "Deadlock found when trying to get lock; try restarting transaction"


class CompanyByName(AsyncFactory[Company]):
    name = factory.Sequence(lambda n: f"goc-{n}")

    class Meta:
        model = Company
        django_get_or_create = ("name",)


class BoomError(Exception):
    pass


class Employee(AsyncFactory[Person]):
    """A Person of the company named "raced" (get_or_create), in one transaction; fail=True
    makes the call fail after its company was got or created."""

    name = factory.Sequence(lambda n: f"employee {n}")
    company = factory.SubFactory(CompanyByName, name="raced")

    class Meta:
        model = Person
        skip_postgeneration_save = True

    @factory.post_generation
    def fail(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            raise BoomError("the call fails after get_or_create")


def on_own_connection(make: Callable[[], Awaitable[R]]) -> Callable[[], Awaitable[R | BaseException]]:
    """``make`` in a ThreadSensitiveContext (a thread and a connection of its own, as an ASGI request)."""

    async def call() -> R | BaseException:
        async with ThreadSensitiveContext():
            try:
                return await make()
            except Exception as exc:
                return exc
            finally:
                await sync_to_async(connections.close_all)()

    return call


def session_value(sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


# --- the settings the project promises on MariaDB/MySQL -------------------------------------------------


async def test_tables_are_innodb_and_sessions_are_strict_read_committed_utf8mb4():
    tables = await sync_to_async(session_value)(
        "SELECT GROUP_CONCAT(DISTINCT engine) FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name LIKE 'testapp%%'"
    )
    isolation = await sync_to_async(session_value)(
        "SHOW SESSION VARIABLES WHERE variable_name IN ('tx_isolation', 'transaction_isolation')"
    )
    sql_mode = await sync_to_async(session_value)("SELECT @@SESSION.sql_mode")

    assert tables == ("InnoDB",)  # transactions, hence all or nothing
    assert isolation[1] == "READ-COMMITTED"  # Django's default: get_or_create's fallback sees committed rows
    assert "STRICT_TRANS_TABLES" in sql_mode[0].split(",")
    # utf8mb4 connection and test database: a 4-byte character survives the round trip.
    company = await CompanyFactory.create(name="café 🙂")
    assert await Company.objects.aget(pk=company.pk) == company
    assert (await Company.objects.aget(pk=company.pk)).name == "café 🙂"


async def test_strict_mode_refuses_a_too_long_value_instead_of_truncating_it():
    with pytest.raises(DataError, match=r"1406.*too long"):
        await PersonFactory.create(name="x" * 101, company__name="kept?")  # Person.name: max_length=100

    assert await empty(Person, Company)


# --- all or nothing with InnoDB --------------------------------------------------------------------------


async def test_a_failing_batch_leaves_no_row_in_any_table():
    await CompanyFactory.create(name="taken")
    before = await row_counts(Person, Company)

    with pytest.raises(IntegrityError):
        await PersonFactory.create_batch(5, company__name=factory.Iterator(["a", "b", "c", "d", "taken"]))
    with pytest.raises(BoomError):
        await Employee.create_batch(3, fail=True)
    with pytest.raises(IntegrityError):
        await PersonFactory.bulk_create_batch(5, company__name=factory.Iterator(["e", "f", "g", "h", "taken"]))

    assert await row_counts(Person, Company) == before
    assert await Company.objects.filter(name__in=["a", "e", "raced"]).acount() == 0


# --- django_get_or_create on one key ---------------------------------------------------------------------


async def test_get_or_create_on_one_key_from_20_tasks_of_one_event_loop_gives_one_row():
    companies = await asyncio.gather(*(CompanyByName.create(name="same") for _ in range(20)))
    people = await asyncio.gather(*(Employee.create() for _ in range(20)))

    assert len({c.pk for c in companies}) == 1
    assert len({p.company_id for p in people}) == 1
    assert await Company.objects.acount() == 2
    assert await Person.objects.acount() == 20


def is_deadlock_to_retry(error: BaseException) -> bool:
    """InnoDB's 1213, with the note that says the call left nothing and can be retried."""
    return (
        isinstance(error, OperationalError)
        and error.args[0] == DEADLOCK
        and "Fix: retry the call." in error.__notes__[-1]
    )


async def race(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    return await asyncio.gather(*(on_own_connection(call)() for call in calls))


def test_get_or_create_on_one_key_from_20_connections_gives_one_row():
    # Each call gets or creates company "raced". InnoDB may fail some calls with a deadlock (1213):
    # the waiters' duplicate-key checks take shared gap locks, and when two of them then insert
    # into that gap (the key's first insert rolled back, or an unpurged deleted "raced" row from
    # an earlier test sits there) it breaks the cycle. Such a call left nothing; its retry succeeds.
    made: list[Person] = []
    for _attempt in range(5):
        outcomes = run_in_own_event_loop(functools.partial(race, [Employee.create] * (20 - len(made))))
        made += [o for o in outcomes if isinstance(o, Person)]
        errors = [o for o in outcomes if not isinstance(o, Person)]
        assert all(is_deadlock_to_retry(e) for e in errors), errors
        assert Person.objects.count() == len(made)
        if not errors:
            break

    assert len(made) == 20
    assert len({p.company_id for p in made}) == 1
    assert Company.objects.filter(name="raced").count() == 1
    assert Person.objects.count() == 20


def test_get_or_create_races_with_rollbacks_give_deadlock_errors_that_leave_nothing_and_can_be_retried():
    # When the transaction that inserted the key rolls back, the transactions waiting on that key
    # all try to insert it, and InnoDB fails all but one with 1213. PostgreSQL makes them wait
    # instead. The library does not retry: a retry would run hooks and sequences again.
    calls = [functools.partial(Employee.create, fail=i % 3 == 0) for i in range(20)]
    deadlocked = 0
    for _ in range(3):
        outcomes = run_in_own_event_loop(functools.partial(race, calls))
        made = [o for o in outcomes if isinstance(o, Person)]
        errors = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, BoomError)]
        assert all(is_deadlock_to_retry(e) for e in errors), errors
        assert len(made) + len(errors) + sum(isinstance(o, BoomError) for o in outcomes) == 20
        # Whole graphs only: every person that exists was returned, with the one company.
        assert Person.objects.count() == len(made)
        assert Company.objects.filter(name="raced").count() == (1 if made else 0)
        assert set(Person.objects.values_list("company__name", flat=True)) <= {"raced"}
        deadlocked += len(errors)

        retried = run_in_own_event_loop(functools.partial(race, [Employee.create] * len(errors)))
        assert all(isinstance(p, Person) for p in retried), retried
        assert Company.objects.filter(name="raced").count() == 1
        Person.objects.all().delete()
        Company.objects.all().delete()
    print(f"get_or_create races with rollbacks: {deadlocked} deadlock errors (1213) in 3 rounds of 20 calls")


# --- bulk_create_batch -----------------------------------------------------------------------------------


async def test_bulk_create_batch_returns_the_primary_keys_of_the_rows_or_refuses_clearly():
    returning = await sync_to_async(lambda: connection.features.can_return_rows_from_bulk_insert)()
    if not returning:  # MySQL: no INSERT ... RETURNING
        with pytest.raises(BulkCreateError, match=r"Fix: use create_batch\(\)"):
            await PersonFactory.bulk_create_batch(3)
        assert await empty(Person, Company)
        return

    people = await PersonFactory.bulk_create_batch(50)  # MariaDB 10.5+: INSERT ... RETURNING

    stored = {pk: (name, company) async for pk, name, company in Person.objects.values_list("pk", "name", "company")}
    assert {p.pk: (p.name, p.company_id) for p in people} == stored
    companies = {pk: name async for pk, name in Company.objects.values_list("pk", "name")}
    assert {p.company.pk: p.company.name for p in people} == companies
    assert all(not p._state.adding for p in people)


# --- a connection the server drops ---------------------------------------------------------------------


def kill(connection_id: int) -> None:
    import MySQLdb

    killer = MySQLdb.connect(**connection.get_connection_params())
    try:
        killer.cursor().execute(f"KILL {int(connection_id)}")
    finally:
        killer.close()


def reset_a_dead_connection() -> None:
    """Leave the connection usable for the next test whatever the library did (pytest-django flushes)."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


async def assert_factory_calls_work() -> None:
    await PersonFactory.create()
    await PersonFactory.create_batch(2)
    await PersonFactory.bulk_create_batch(2)
    await CompanyByName.create(name="after")
    assert await Person.objects.acount() == 5


async def test_factory_calls_work_after_the_server_killed_the_connection():
    # A long-running script whose connection the server dropped: CONN_HEALTH_CHECKS (settings.py)
    # and the library's check before each call outside a transaction replace it.
    await PersonFactory.create()
    await Person.objects.all().adelete()
    connection_id = (await sync_to_async(session_value)("SELECT CONNECTION_ID()"))[0]
    await sync_to_async(kill)(connection_id)
    try:
        await assert_factory_calls_work()
        assert (await sync_to_async(session_value)("SELECT CONNECTION_ID()"))[0] != connection_id
    finally:
        await sync_to_async(reset_a_dead_connection)()


async def test_factory_calls_work_after_the_server_dropped_the_idle_connection():
    await PersonFactory.create()
    await Person.objects.all().adelete()
    await sync_to_async(session_value)("SET SESSION wait_timeout = 1")
    await asyncio.sleep(2.5)  # idle longer than wait_timeout: the server closes the connection
    try:
        await assert_factory_calls_work()
    finally:
        await sync_to_async(reset_a_dead_connection)()
