"""Rolled-back async tests on django-async-backend (the pytest plugin's part for native databases).

pytest-django rolls a test back on Django's sync connections; django-async-backend's queries run on
an asyncio connection of their own, which belongs to the task that first used it. Runners run a
test's async fixtures and the test in tasks of their own (pytest-asyncio, this plugin, anyio). So for
a ``django_db`` test whose databases include a native one, the first async fixture (or the test)
opens ``async_atomic()`` on that connection, and every async fixture and the test takes the
connection over while it runs: their rows are in one transaction, and see each other. When the
test and those fixtures are done, the connection is dropped, and with it the transaction: nothing stays. With
``transaction=True`` the rows are committed, and pytest-django empties the tables after the test.

Reaches into django-async-backend's owner task (``_task``) and psycopg's ``pgconn``, checked on
django-async-backend 6.1.x and psycopg 3.2 to 3.3.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Generator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from .engines import is_native_engine


class TestConnections:
    """The native connections of one test: opened in its first async code, taken over by each of the others."""

    def __init__(self, item: pytest.Item, aliases: list[str], rolled_back: bool) -> None:
        self.item = item
        self.aliases = aliases
        self.rolled_back = rolled_back
        self.held: dict[str, Any] = {}  # alias -> the async wrapper
        self.loop: asyncio.AbstractEventLoop | None = None

    async def join(self, where: str) -> None:
        """In a task that runs the test's code: take the test's connections over (open them, the first time)."""
        from django_async_backend.db import async_connections  # type: ignore[import-not-found,import-untyped,unused-ignore]  # optional
        from django_async_backend.db.transaction import async_atomic  # type: ignore[import-not-found,import-untyped,unused-ignore]  # optional

        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
            # After the fixtures set up before this one are torn down, before the databases are.
            self.item.addfinalizer(self.drop)
        elif loop is not self.loop:
            pytest.fail(
                f"{self.item.nodeid}: {where} runs on another event loop than the test's other async code; "
                f"django-async-backend's connection to {self.aliases[0]!r} belongs to one loop. Fix: give the "
                "test and its async fixtures one loop scope (pytest-asyncio's loop_scope), or mark the test "
                "@pytest.mark.django_db(transaction=True).",
                pytrace=False,
            )
        task = asyncio.current_task()
        for alias in self.aliases:
            connection = self.held.get(alias)
            if connection is None:
                connection = self.held[alias] = async_connections[alias]
                connection._task = task
                if self.rolled_back:
                    await async_atomic(using=alias).__aenter__()  # left open: dropped with the connection
            else:
                async_connections[alias] = connection  # this task's context may not have it yet
                connection._task = task

    def release(self) -> None:
        """Between two tasks: the connections belong to none (the next task that uses them takes them)."""
        for connection in self.held.values():
            connection._task = None

    def drop(self) -> None:
        """After the test: close the connections without their loop; the server rolls back what is open."""
        for connection in self.held.values():
            raw = connection.connection
            if raw is not None:
                raw.pgconn.finish()
            connection.connection = None
            connection.in_atomic_block = False
            connection.savepoint_ids = []
            connection.atomic_blocks = []
            connection.needs_rollback = False
        self.held.clear()


_CONNECTIONS = pytest.StashKey["TestConnections | None"]()


def native_databases(item: pytest.Item) -> TestConnections | None:
    """The native connections of ``item`` if it is a ``django_db`` test whose databases include native ones."""
    if _CONNECTIONS in item.stash:
        return item.stash[_CONNECTIONS]
    test = None
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        databases = marker.kwargs.get("databases") or [DEFAULT_DB_ALIAS]  # pytest-django's default
        if databases == "__all__":
            databases = list(connections.settings)
        aliases = [alias for alias in databases if is_native_engine(connections.settings[alias]["ENGINE"])]
        transactional = marker.kwargs.get("transaction", marker.args[0] if marker.args else False)
        if aliases:
            test = TestConnections(item, aliases, rolled_back=not transactional)
    item.stash[_CONNECTIONS] = test
    return test


def _joined(func: Callable[..., Any], test: TestConnections, where: str) -> Callable[..., Any]:
    """``func`` (an async fixture or test), taking the test's native connections over while it runs."""
    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def generator(*args: Any, **kwargs: Any) -> Any:
            agen = func(*args, **kwargs)
            await test.join(where)
            try:
                value = await agen.__anext__()
            finally:
                test.release()
            yield value
            await test.join(where)
            try:
                await agen.__anext__()
            except StopAsyncIteration:
                return
            finally:
                test.release()
            raise RuntimeError(f"async fixture {func.__name__} yielded more than once")

        return generator

    @functools.wraps(func)
    async def coroutine(*args: Any, **kwargs: Any) -> Any:
        await test.join(where)
        try:
            return await func(*args, **kwargs)
        finally:
            test.release()

    return coroutine


@pytest.hookimpl(specname="pytest_fixture_setup", wrapper=True, tryfirst=True)
def pytest_fixture_setup_native(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    # Outermost: the async fixture is swapped before a runner (pytest-asyncio, anyio, this plugin) wraps it.
    func = fixturedef.func
    test = native_databases(request.node) if isinstance(request.node, pytest.Item) else None
    if test is None or not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)):
        return (yield)
    setattr(fixturedef, "func", _joined(func, test, f"async fixture {fixturedef.argname!r}"))  # noqa: B010
    try:
        return (yield)
    finally:
        setattr(fixturedef, "func", func)  # noqa: B010


@pytest.hookimpl(specname="pytest_runtest_call", wrapper=True, tryfirst=True)
def pytest_runtest_call_native(item: pytest.Item) -> Generator[None, None, None]:
    test = native_databases(item)
    func = getattr(item, "obj", None)
    if test is None or not inspect.iscoroutinefunction(func):
        return (yield)
    item.obj = _joined(func, test, "the test")  # type: ignore[attr-defined]
    try:
        return (yield)
    finally:
        item.obj = func  # type: ignore[attr-defined]
