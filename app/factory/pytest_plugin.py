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
the test with a message naming the fix, instead of leaking rows or locking SQLite. The thread's
own connections (a session-scoped async fixture's rows are committed on them) are closed before
pytest-django drops the test databases.

**Running.** pytest-asyncio, when installed, runs what it claims (marked tests and
``@pytest_asyncio.fixture`` fixtures in strict mode; everything async in auto mode), and anyio runs
its ``@pytest.mark.anyio`` tests and their async fixtures. This plugin runs the other ``async def``
tests and fixtures: one event loop per test, shared by the test and its function-scoped async
fixtures; a wider-scoped async fixture gets a loop of its own.

**pytest-factoryboy.** The model fixtures that ``register(SomeAsyncFactory)`` makes (``author``,
``book``...) are saved instances, in sync and async tests: the plugin has pytest-factoryboy's
model fixture call the factory synchronously, on the test's connection.

**Counting queries.** ``django_assert_num_queries`` and ``django_assert_max_num_queries`` count the
queries of awaited calls with ``with`` or ``async with`` inside an async test: the counter is
entered and exited in the ORM thread, on the test's connection.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.test import SimpleTestCase

from .base import AsyncFactory
from .errors import IsolationError
from .native_testing import (  # noqa: F401 - the hooks of native databases' tests, registered with this plugin
    pytest_fixture_setup_native,
    pytest_runtest_call_native,
)
from .testing import in_orm_thread
from .thread_engine import THREAD, call_in_thread_sensitive_executor

R = TypeVar("R")

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
        self.active = True
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
        self.active = False
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


def _close_orm_thread_connections() -> None:
    call_in_thread_sensitive_executor(connections.close_all)


@pytest.hookimpl(specname="pytest_fixture_setup", wrapper=True)
def pytest_fixture_setup_lend_connections(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    result = yield
    # Each finalizer is added after pytest-django's teardown of the fixture, so it runs before it.
    # pytest-django's _django_db_helper sets up the test case behind django_db, db, transactional_db.
    if fixturedef.argname == "_django_db_helper" and not _is_django_test_case(request.node):
        lent = request.node.stash[_LENT] = _LentConnections(request.node)
        # Given back before the rollback.
        fixturedef.addfinalizer(lent.end)
        fixturedef.addfinalizer(lent.check)
    elif fixturedef.argname == "django_db_setup":
        # The ORM thread's own connections (a session-scoped async fixture's queries ran on them)
        # are closed before the test databases are dropped, which an open connection would prevent.
        fixturedef.addfinalizer(_close_orm_thread_connections)
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


def _claimed_by_anyio(item: pytest.Function) -> bool:
    """anyio runs the async tests that request its ``anyio_backend`` fixture (``@pytest.mark.anyio``)."""
    return bool(item.funcargs.get("anyio_backend")) and item.config.pluginmanager.has_plugin("anyio")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    # pytest-asyncio replaces the function of a test it claims by a sync one before this hook.
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func) or _claimed_by_anyio(pyfuncitem):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    _test_runner(pyfuncitem).run(func(**kwargs))
    return True


# --- pytest-factoryboy: model fixtures of async factories ----------------------------------------
#
# pytest-factoryboy (read on 2.6.1 to 2.8.1, tested on 2.8.1) makes each model fixture of
# ``functools.partial(model_fixture, factory_name=...)`` (wrapped by functools.wraps, twice);
# ``model_fixture`` takes the factory class from ``request.getfixturevalue(factory_name)`` and
# creates the object as ``type("Factory", (factory_class,), {})(**kwargs)``, synchronously. These
# are the only details of pytest-factoryboy this plugin relies on.


def _model_fixture_factory_name(fixturedef: pytest.FixtureDef[Any]) -> str | None:
    """The name of the factory fixture, if ``fixturedef`` is a pytest-factoryboy model fixture."""
    fixture_module = sys.modules.get("pytest_factoryboy.fixture")
    if fixture_module is None:
        return None
    func = inspect.unwrap(fixturedef.func)
    if isinstance(func, functools.partial) and func.func is getattr(fixture_module, "model_fixture", None):
        name = func.keywords.get("factory_name")
        return name if isinstance(name, str) else None
    return None


class _ModelFixtureRequest:
    """The request of a model fixture, whose factory fixture gives the synchronous subclass of an async factory."""

    def __init__(self, request: pytest.FixtureRequest, factory_name: str) -> None:
        self._request = request
        self._factory_name = factory_name

    def getfixturevalue(self, argname: str) -> Any:
        value = self._request.getfixturevalue(argname)
        if argname == self._factory_name and isinstance(value, type) and issubclass(value, AsyncFactory):
            return _synchronous(value)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def _wait(awaitable: Awaitable[R]) -> R:
    """Await ``awaitable`` from sync code: its ORM calls come back to this thread, on its connection."""
    return THREAD.wait(awaitable)


class _Synchronous:
    """Mixed into an async factory for pytest-factoryboy: its calls return objects, not coroutines."""

    @classmethod
    def create(cls, **kwargs: Any) -> Any:
        return _wait(super().create(**kwargs))  # type: ignore[misc]

    @classmethod
    def build(cls, **kwargs: Any) -> Any:
        return _wait(super().build(**kwargs))  # type: ignore[misc]

    @classmethod
    def stub(cls, **kwargs: Any) -> Any:
        return _wait(super().stub(**kwargs))  # type: ignore[misc]

    @classmethod
    def _after_postgeneration(cls, instance: Any, create: bool, results: dict[str, Any] | None = None) -> None:
        # pytest-factoryboy runs the post-generation declarations itself: an async one returned a coroutine.
        for name, value in (results or {}).items():
            if inspect.isawaitable(value):
                results[name] = _wait(value)  # type: ignore[index]
        done = super()._after_postgeneration(instance, create, results)  # type: ignore[misc]
        if inspect.isawaitable(done):
            _wait(done)


_SYNCHRONOUS: WeakKeyDictionary[type[Any], type[Any]] = WeakKeyDictionary()


def _synchronous(factory_class: type[AsyncFactory[Any]]) -> type[Any]:
    synchronous = _SYNCHRONOUS.get(factory_class)
    if synchronous is None:
        synchronous = _SYNCHRONOUS[factory_class] = type(factory_class.__name__, (_Synchronous, factory_class), {})
    return synchronous


def _model_fixture(func: Callable[..., Any], name: str, factory_name: str) -> Callable[..., Any]:
    def model_fixture(**kwargs: Any) -> Any:
        request = kwargs["request"]
        factory_class = request.getfixturevalue(factory_name)
        if isinstance(factory_class, type) and issubclass(factory_class, AsyncFactory) and _loop_running():
            pytest.fail(
                f"pytest-factoryboy's model fixture {name!r} ({factory_class.__name__}, an AsyncFactory) was "
                "set up inside a running event loop (request.getfixturevalue() in async code), where it cannot "
                f"wait for {factory_class.__name__}.create(). Fix: request {name!r} as an argument of the test "
                f"or fixture, or `await {factory_class.__name__}.create()` there.",
                pytrace=False,
            )
        return func(**{**kwargs, "request": _ModelFixtureRequest(request, factory_name)})

    return model_fixture


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.hookimpl(specname="pytest_fixture_setup", wrapper=True)
def pytest_fixture_setup_model_fixture(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    factory_name = _model_fixture_factory_name(fixturedef)
    if factory_name is None:
        return (yield)
    func = fixturedef.func
    setattr(fixturedef, "func", _model_fixture(func, fixturedef.argname, factory_name))  # noqa: B010
    try:
        return (yield)
    finally:
        setattr(fixturedef, "func", func)  # noqa: B010


# --- counting queries --------------------------------------------------------------------------


class _QueryCounter(in_orm_thread[Any]):
    """pytest-django's counter, made in the ORM thread; a plain ``with`` hops there while the connection is lent."""

    def __init__(self, item: pytest.Item, make: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(make, *args, **kwargs)
        self._item = item

    def _blocking_hop(self) -> Callable[[Callable[[], Any]], Any] | None:
        lent = self._item.stash.get(_LENT, None)
        if lent is None or not lent.active:
            return None
        return _hop_to_orm_thread


def _hop_to_orm_thread(func: Callable[[], R]) -> R:
    """``func()`` in the ORM thread, from an event loop that waits meanwhile."""
    try:
        return call_in_thread_sensitive_executor(func, start_within=_HOP_START_WITHIN)
    except TimeoutError:
        raise RuntimeError(
            "`with django_assert_num_queries(...)` waited in vain for the ORM thread, busy with another task's "
            "query (which may be waiting for this event loop). Fix: `async with django_assert_num_queries(...):`."
        ) from None


#: Seconds a plain ``with`` waits for a busy ORM thread before it fails.
_HOP_START_WITHIN = 10.0


def _either_way(assert_queries: Callable[..., Any], name: str, item: pytest.Item) -> Callable[..., in_orm_thread[Any]]:
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
        return _QueryCounter(item, make, *args, **kwargs)

    return assert_queries_either_way


@pytest.fixture
def django_assert_num_queries(
    django_assert_num_queries: Callable[..., Any], request: pytest.FixtureRequest
) -> Callable[..., in_orm_thread[Any]]:
    """pytest-django's ``django_assert_num_queries``, counting awaited calls too (``with`` or ``async with``)."""
    return _either_way(django_assert_num_queries, "django_assert_num_queries", request.node)


@pytest.fixture
def django_assert_max_num_queries(
    django_assert_max_num_queries: Callable[..., Any], request: pytest.FixtureRequest
) -> Callable[..., in_orm_thread[Any]]:
    """pytest-django's ``django_assert_max_num_queries``, counting awaited calls too (``with`` or ``async with``)."""
    return _either_way(django_assert_max_num_queries, "django_assert_max_num_queries", request.node)
