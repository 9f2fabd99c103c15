"""pytest plugin: async tests and fixtures that share pytest-django's rolled-back transaction.

Enable it from ``conftest.py`` with ``pytest_plugins = ["app.factory.pytest_plugin"]``.

Django's async ORM runs each query with ``sync_to_async(thread_sensitive=True)``. Under this
plugin an ``async def`` test or fixture runs through ``asgiref.sync.async_to_sync`` from pytest's
own thread, as Django's ``TestCase`` runs async test methods: the event loop gets a thread of
its own and every thread-sensitive ORM call comes back to pytest's thread, on the connection
that holds the ``db`` fixture's transaction. So ``@pytest.mark.django_db`` async tests are
rolled back like sync ones, and ``transaction=True`` is needed only for real commits.

Each async test and each async fixture runs in an event loop of its own; share model
instances between them, not loop-bound objects (tasks, clients bound to one loop).
Do not combine with pytest-asyncio's handling of the same tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from typing import Any

import pytest
from asgiref.sync import async_to_sync


def _sync_coroutine_fixture(func: Callable[..., Any]) -> Callable[..., Any]:
    def fixture(*args: Any, **kwargs: Any) -> Any:
        return async_to_sync(func)(*args, **kwargs)

    return fixture


def _sync_asyncgen_fixture(func: Callable[..., Any]) -> Callable[..., Any]:
    def fixture(*args: Any, **kwargs: Any) -> Generator[Any, None, None]:
        agen = func(*args, **kwargs)

        async def step() -> Any:
            return await agen.__anext__()

        yield async_to_sync(step)()
        try:
            async_to_sync(step)()
        except StopAsyncIteration:
            return
        raise RuntimeError(f"async fixture {func.__name__} yielded more than once")

    return fixture


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    func = fixturedef.func
    if inspect.iscoroutinefunction(func):
        sync_func = _sync_coroutine_fixture(func)
    elif inspect.isasyncgenfunction(func):
        sync_func = _sync_asyncgen_fixture(func)
    else:
        return (yield)
    # pytest has no public hook to replace how a fixture is called; swapping the function for
    # the duration of its setup is what async plugins do (the attribute is Final in its types).
    setattr(fixturedef, "func", sync_func)  # noqa: B010
    try:
        return (yield)
    finally:
        setattr(fixturedef, "func", func)  # noqa: B010


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    async_to_sync(func)(**kwargs)
    return True
