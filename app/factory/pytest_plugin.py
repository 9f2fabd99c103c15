"""pytest plugin: async tests rolled back like sync ones, whoever runs them.

Enable it from ``conftest.py`` with one line, naming where the package lives in your project::

    pytest_plugins = ["app.factory.pytest_plugin"]        # this template
    pytest_plugins = ["myproject.factory.pytest_plugin"]  # a copy at myproject/factory/

**Isolation.** pytest-django opens each test's transaction on pytest's thread, but Django's async
ORM (and this package) run queries in asgiref's thread-sensitive executor thread, on a connection
of its own. For every ``django_db`` test, while pytest-django's test case is set up, this plugin
lends pytest's connections to that thread, as Django's ``LiveServerTestCase`` lends them to its
server thread. So async tests and fixtures run by pytest-asyncio (strict or auto mode, any loop
scope), by anyio or by this plugin are rolled back like sync ones; sync and async fixtures see
each other's rows; ``AsyncClient`` requests see the test's rows; ``transaction=True`` tests still
commit and are flushed. In a rolled-back async test, a connection opened by any other thread
(``sync_to_async(thread_sensitive=False)``, ``ThreadSensitiveContext``, a thread of your own) fails
the test with a message naming the fix, instead of leaking rows or locking SQLite.

**Running.** pytest-asyncio, when installed, runs what it claims (marked tests and
``@pytest_asyncio.fixture`` fixtures in strict mode; everything async in auto mode). This plugin
runs the other ``async def`` tests and fixtures: one event loop per test, shared by the test and
its function-scoped async fixtures; a wider-scoped async fixture gets a loop of its own.

**Counting queries.** ``django_assert_num_queries`` and ``django_assert_max_num_queries`` also
work as ``async with django_assert_num_queries(2): await ...``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Generator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.test import SimpleTestCase

from .errors import IsolationError
from .native_testing import (  # noqa: F401 - the hooks of native databases' tests, registered with this plugin
    pytest_fixture_setup_native,
    pytest_runtest_call_native,
)
from .testing import in_orm_thread
from .thread_engine import call_in_thread_sensitive_executor

# --- isolation: pytest's connections lent to the ORM thread -------------------------------------


class _LentConnections:
    """pytest's connections, lent to asgiref's thread-sensitive thread for one test."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item
        self.lent: dict[str, BaseDatabaseWrapper] = {alias: connections[alias] for alias in connections}
        for conn in self.lent.values():
            conn.inc_thread_sharing()
        self.previous = call_in_thread_sensitive_executor(self._lend)
        # A rolled-back test holds an atomic block open on pytest's connection.
        rolled_back = any(conn.in_atomic_block for conn in self.lent.values())
        self.guarded = rolled_back and inspect.iscoroutinefunction(getattr(item, "obj", None))
        self.escaped: str | None = None
        if self.guarded:
            connection_created.connect(self._check_new_connection, weak=False)

    def _lend(self) -> dict[str, BaseDatabaseWrapper]:
        lent = self.lent.values()
        previous = {c.alias: c for c in connections.all(initialized_only=True) if c not in lent}
        for alias, conn in self.lent.items():
            connections[alias] = conn
        return previous

    def _take_back(self) -> None:
        for alias in self.lent:
            if alias in self.previous:
                connections[alias] = self.previous[alias]
            else:
                del connections[alias]

    def _check_new_connection(self, sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
        if any(connection is conn for conn in self.lent.values()) or not isinstance(connection, BaseDatabaseWrapper):
            return  # a lent connection, or django-async-backend's asyncio one (native_testing rolls it back)
        connection.close()  # so that no query of that thread runs outside the test's transaction
        self.escaped = (
            f"{self.item.nodeid}: thread {threading.current_thread().name!r} opened its own connection to "
            f"database {connection.alias!r} during this rolled-back test, so its queries would escape the "
            "test's transaction (leaked rows, or 'database table is locked' on SQLite). Fix: run ORM code "
            "through Django's async API or sync_to_async(thread_sensitive=True), not "
            "sync_to_async(thread_sensitive=False), ThreadSensitiveContext or threads of your own; or mark "
            "the test @pytest.mark.django_db(transaction=True)."
        )
        raise IsolationError(self.escaped)

    def end(self) -> None:
        if self.guarded:
            connection_created.disconnect(self._check_new_connection)
        call_in_thread_sensitive_executor(self._take_back)
        for conn in self.lent.values():
            conn.dec_thread_sharing()

    def check(self) -> None:
        """Fail the test if another thread opened a connection (even if the error was caught)."""
        if self.escaped is not None:
            escaped, self.escaped = self.escaped, None
            pytest.fail(escaped, pytrace=False)


_LENT = pytest.StashKey[_LentConnections]()


def _is_django_test_case(item: pytest.Item) -> bool:
    """A Django TestCase runs its async tests through async_to_sync: their queries come back to pytest's thread."""
    return issubclass(getattr(item, "cls", None) or object, SimpleTestCase)


@pytest.hookimpl(specname="pytest_fixture_setup", wrapper=True)
def pytest_fixture_setup_lend_connections(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    result = yield
    # pytest-django's _django_db_helper sets up the test case behind django_db, db, transactional_db.
    if fixturedef.argname == "_django_db_helper" and not _is_django_test_case(request.node):
        lent = request.node.stash[_LENT] = _LentConnections(request.node)
        # Added after pytest-django's teardown, so it runs before it: given back before the rollback.
        fixturedef.addfinalizer(lent.end)
        fixturedef.addfinalizer(lent.check)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    lent = item.stash.get(_LENT, None)
    try:
        yield
    except IsolationError:
        if lent is not None:
            lent.escaped = None  # the test failed with it: not again at teardown
        raise
    if lent is not None:
        lent.check()


# --- running async tests and fixtures nobody else claims -----------------------------------------

_RUNNER = pytest.StashKey[asyncio.Runner]()


def _test_runner(item: pytest.Item) -> asyncio.Runner:
    """The event loop of ``item``: its test and function-scoped async fixtures run on it."""
    runner = item.stash.get(_RUNNER, None)
    if runner is None:
        # A loop factory: the runner then leaves the thread's current event loop alone.
        runner = item.stash[_RUNNER] = asyncio.Runner(loop_factory=asyncio.new_event_loop)
    return runner


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        yield
    finally:
        runner = item.stash.get(_RUNNER, None)
        if runner is not None:
            del item.stash[_RUNNER]
            runner.close()


def _bound(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """The fixture function, bound to the test's instance when it is a method of the test class."""
    func: Any = fixturedef.func
    owner = getattr(func, "__self__", None)
    if request.instance is not None and owner is not None and isinstance(request.instance, type(owner)):
        return func.__func__.__get__(request.instance)  # type: ignore[no-any-return]
    return func  # type: ignore[no-any-return]


def _sync_fixture(func: Callable[..., Any], runner: asyncio.Runner) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(func):

        def call(*args: Any, **kwargs: Any) -> Any:
            return runner.run(func(*args, **kwargs))

        return call

    def generate(*args: Any, **kwargs: Any) -> Generator[Any, None, None]:
        agen = func(*args, **kwargs)
        yield runner.run(agen.__anext__())
        try:
            runner.run(agen.__anext__())
        except StopAsyncIteration:
            return
        raise RuntimeError(f"async fixture {func.__name__} yielded more than once")

    return generate


# trylast: the innermost wrapper, so pytest-asyncio has already swapped in its own sync function
# for a fixture it claims, and this sees only the async fixtures nobody claimed.
@pytest.hookimpl(specname="pytest_fixture_setup", wrapper=True, trylast=True)
def pytest_fixture_setup_unclaimed_async(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    func = fixturedef.func
    if not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)):
        return (yield)
    if fixturedef.scope == "function":
        runner = _test_runner(request.node)
    else:
        runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        # Added first, so it runs last: after the fixture's own teardown.
        fixturedef.addfinalizer(runner.close)
    # pytest has no public hook to replace how a fixture is called; swapping the function for the
    # duration of its setup is what async plugins do (the attribute is Final in its types).
    setattr(fixturedef, "func", _sync_fixture(_bound(fixturedef, request), runner))  # noqa: B010
    try:
        return (yield)
    finally:
        setattr(fixturedef, "func", func)  # noqa: B010


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    # pytest-asyncio replaces the function of a test it claims by a sync one before this hook.
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    _test_runner(pyfuncitem).run(func(**kwargs))
    return True


# --- counting queries --------------------------------------------------------------------------


def _either_way(assert_queries: Callable[..., Any], name: str) -> Callable[..., in_orm_thread[Any]]:
    """pytest-django's ``assert_queries``, made in the ORM thread on a named connection.

    pytest-django counts on ``django.db.connection`` unless told; that proxy resolves per thread,
    and per task in a running loop, so the counting connection is pinned where the queries run.
    """
    signature = inspect.signature(assert_queries)

    def make(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        if bound.arguments.get("connection") is None:
            bound.arguments["connection"] = connections[bound.arguments.pop("using", None) or DEFAULT_DB_ALIAS]
        return assert_queries(*bound.args, **bound.kwargs)

    make.__name__ = name

    def assert_queries_either_way(*args: Any, **kwargs: Any) -> in_orm_thread[Any]:
        return in_orm_thread(make, *args, **kwargs)

    return assert_queries_either_way


@pytest.fixture
def django_assert_num_queries(django_assert_num_queries: Callable[..., Any]) -> Callable[..., in_orm_thread[Any]]:
    """pytest-django's ``django_assert_num_queries``, also as ``async with`` around awaited calls."""
    return _either_way(django_assert_num_queries, "django_assert_num_queries")


@pytest.fixture
def django_assert_max_num_queries(
    django_assert_max_num_queries: Callable[..., Any],
) -> Callable[..., in_orm_thread[Any]]:
    """pytest-django's ``django_assert_max_num_queries``, also as ``async with`` around awaited calls."""
    return _either_way(django_assert_max_num_queries, "django_assert_max_num_queries")
