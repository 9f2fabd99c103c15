"""The native engine: a call's sync work runs in the calling task, on django-async-backend's asyncio connection.

django-async-backend runs queries on a real asyncio connection (``async_atomic()``, ``async_objects``).
A native call needs no thread hop: factory_boy's sync builder runs in a greenlet on the event-loop
thread (the pattern SQLAlchemy's asyncio support uses). When that sync code waits for something (a
query, an ``async def`` hook), ``await_only`` switches back to the calling task, which awaits it and
switches back with the result, or throws the exception in (a cancellation included). Django's sync
ORM in that code runs on the task's asyncio connection (``native_orm``), so the call's transaction
is ``transaction.atomic()`` as in the thread engine: a savepoint of the caller's ``async_atomic()``.

Needs ``django-async-backend`` and ``greenlet``; imported only when a database uses the backend.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

try:
    import greenlet  # type: ignore[import-not-found,import-untyped,unused-ignore]  # optional
except ImportError as exc:  # pragma: no cover - a set-up error, said once
    raise ImportError(
        "app.factory runs factories natively on django-async-backend with greenlet, which is not installed. "
        "Fix: pip install greenlet (requirements.txt lists it for Python 3.12+)."
    ) from exc
from django.db import connections

from .calls import Call, run_work, running_calls
from .engines import awaiting_native_call as _awaiting
from .errors import NativeTaskError
from .native_orm import owner_task, sync_orm_on_async_connections

R = TypeVar("R")


class _CallGreenlet(greenlet.greenlet):  # type: ignore[misc]
    """The greenlet that runs one native call's sync work."""

    def __init__(self, run: Callable[[], Any], driver: greenlet.greenlet) -> None:
        super().__init__(run, driver)
        self.driver = driver
        # A new greenlet starts with an empty context: the call's sync code reads the task's
        # ContextVars (asgiref's Local, async_connections among them).
        self.gr_context = driver.gr_context


def await_only(awaitable: Awaitable[R]) -> R:
    """From a native call's sync work: ``awaitable``'s result, awaited in the calling task."""
    current = greenlet.getcurrent()
    if not isinstance(current, _CallGreenlet):
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # no "never awaited" warning on top of this error
        raise RuntimeError(
            "await_only() outside a native factory call's sync work: Django's sync ORM cannot run in async "
            "code on django-async-backend. Fix: use the async API (Model.async_objects, instance.async_save())."
        )
    return current.driver.switch(awaitable)  # type: ignore[no-any-return]


class NativeCall(Call):
    """A call whose sync work runs in a greenlet of the calling task."""

    __slots__ = ()

    def __init__(self, factory: type[Any], method: str) -> None:
        super().__init__(NATIVE, factory, method)

    async def run(self, work: Callable[[], R]) -> R:
        self.parent = _awaiting.get()
        aliases = native_aliases()
        task = asyncio.current_task()
        for alias in aliases:
            owner = owner_task(alias)
            if owner is not None and owner is not task:
                raise NativeTaskError(self.factory.__name__, self.method, alias)
        child = _CallGreenlet(lambda: self._run_sync(work, aliases), greenlet.getcurrent())
        running = running_calls()
        running.append(self)
        try:
            result = child.switch()
        finally:
            running.pop()
        while not child.dead:
            token = _awaiting.set(self)
            try:
                value = await result
            except BaseException:  # a CancelledError included: the sync work unwinds, rolling back
                error = sys.exc_info()
                _awaiting.reset(token)
                running.append(self)
                try:
                    result = child.throw(*error)
                finally:
                    running.pop()
                continue
            _awaiting.reset(token)
            running.append(self)
            try:
                result = child.switch(value)
            finally:
                running.pop()
        return result  # type: ignore[no-any-return]

    def _run_sync(self, work: Callable[[], R], aliases: list[str]) -> R:
        with sync_orm_on_async_connections(aliases):
            return run_work(self, work)


class NativeEngine:
    """Runs calls in the calling task on django-async-backend's asyncio connections (``NativeCall``)."""

    name = "native"

    def call(self, factory: type[Any], method: str) -> NativeCall:
        return NativeCall(factory, method)

    def wait(self, awaitable: Awaitable[R]) -> R:
        call = running_calls()[-1]
        if call.before_await is not None:  # its queries go to the asyncio connection, past bulk.py's wrapper
            call.before_await()
        return await_only(awaitable)

    def in_sync_code(self, call: Call) -> bool:
        # A native call is the current call only while its greenlet runs its sync code.
        return True


NATIVE = NativeEngine()


def native_aliases() -> list[str]:
    """The configured aliases that use django-async-backend."""
    from .engines import is_native_engine

    return [alias for alias, options in connections.settings.items() if is_native_engine(options["ENGINE"])]
