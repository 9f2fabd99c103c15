"""A connection the server dropped while idle is replaced: a long-running script keeps working."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection

from app.factories import UserFactory
from app.models import User

pytestmark = [
    pytest.mark.django_db(transaction=True, available_apps=["app"]),
    pytest.mark.skipif("connection.vendor == 'sqlite'", reason="SQLite has no server to drop the connection"),
]


def kill_the_orm_connection() -> None:
    """Have the server end the connection the ORM thread uses, as wait_timeout or a restart would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
            statement = f"SELECT pg_terminate_backend({pid})"
        else:
            statement = f"KILL {connection.connection.thread_id()}"
    killer = connection.copy()  # another connection to the same database
    try:
        with killer.cursor() as cursor:
            cursor.execute(statement)
    finally:
        killer.close()


@pytest.fixture(params=[False, True], ids=["no-health-checks", "CONN_HEALTH_CHECKS"])
def health_checks(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Django's CONN_HEALTH_CHECKS for the test's connection (read when it connects)."""
    before = connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.settings_dict["CONN_HEALTH_CHECKS"] = connection.health_check_enabled = request.param
    yield request.param
    connection.settings_dict["CONN_HEALTH_CHECKS"] = connection.health_check_enabled = before


async def test_calls_after_the_server_dropped_the_connection_work_again(health_checks: bool) -> None:
    await UserFactory.create()
    await sync_to_async(kill_the_orm_connection)()

    if health_checks:
        await UserFactory.create()  # checked before its first query, and replaced
    else:
        with pytest.raises(DatabaseError):
            await UserFactory.create()  # fails once, as a request would...
    await UserFactory.create_batch(2)  # ...and the next call has a new connection
    assert await User.objects.acount() == (4 if health_checks else 3)
