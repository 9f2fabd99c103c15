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
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import CoroutineType
from typing import Any, TypeVar

try:
    import greenlet  # type: ignore[import-not-found,import-untyped,unused-ignore]  # optional
except ImportError as exc:  # pragma: no cover - a set-up error, said once
    raise ImportError(
        "app.factory runs factories natively on django-async-backend with greenlet, which is not installed. "
        "Fix: pip install greenlet (docs/native.md lists what the native engine needs)."
    ) from exc

from .calls import Call, run_work, running_calls
from .engines import awaiting_native_call as _awaiting
from .engines import native_aliases
from .errors import NativeTaskError
from .native_orm import OwnedByAnotherTaskError, run_with_shims, shims

R = TypeVar("R")


class _CallGreenlet(greenlet.greenlet):  # type: ignore[misc]
    """The greenlet that runs one native call's sync work."""

    def __init__(self, run: Callable[[], Any], driver: greenlet.greenlet) -> None:
        super().__init__(run, driver)
        self.driver = driver
        # A new greenlet starts with an empty context: the call's sync code reads the task's
        # ContextVars (asgiref's Local, async_connections among them).
        self.gr_context = driver.gr_context


def await_only(awaitable: Awaitable[R], *, start_here: bool = False) -> R:
    """From a native call's sync work: ``awaitable``'s result, awaited in the calling task.

    ``start_here``: ``awaitable`` is a coroutine of the database layer (``native_orm``), run here until
    it must wait, as it would run in the task; never code of the user's, which must run in the task
    (its ORM calls, factory calls and ``sync_to_async`` calls are the task's).
    """
    current = greenlet.getcurrent()
    if not isinstance(current, _CallGreenlet):
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # no "never awaited" warning on top of this error
        raise RuntimeError(
            "await_only() outside a native factory call's sync work: Django's sync ORM cannot run in async "
            "code on django-async-backend. Fix: use the async API (Model.async_objects, instance.async_save())."
        )
    if start_here and type(awaitable) is CoroutineType:
        # Run it here, in the task's step, until it must wait: a psycopg fetch of rows already read,
        # a cursor's creation, return without waiting, and need no switch to the task and back.
        try:
            waits_for = awaitable.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        return current.driver.switch(_Started(awaitable, waits_for))  # type: ignore[no-any-return]
    return current.driver.switch(awaitable)  # type: ignore[no-any-return]


class _Started:
    """The rest of a coroutine that ``await_only`` started and that now waits for ``waits_for``: awaited
    by the task as the coroutine itself would have been (``yield from`` it, from where it stopped)."""

    __slots__ = ("coroutine", "waits_for")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waits_for: Any) -> None:
        self.coroutine = coroutine
        self.waits_for = waits_for

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, waits_for = self.coroutine, self.waits_for
        while True:
            try:
                sent = yield waits_for
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as error:  # a cancellation included: the coroutine handles it
                try:
                    waits_for = coroutine.throw(error)
                except StopIteration as done:
                    return done.value
                continue
            try:
                waits_for = coroutine.send(sent)
            except StopIteration as done:
                return done.value


class NativeCall(Call):
    """A call whose sync work runs in a greenlet of the calling task."""

    __slots__ = ()

    def __init__(self, factory: type[Any], method: str) -> None:
        super().__init__(NATIVE, factory, method)

    async def run(self, work: Callable[[], R]) -> R:
        self.parent = _awaiting.get()
        try:
            connections = shims(native_aliases(), asyncio.current_task())
        except OwnedByAnotherTaskError as owned:
            raise NativeTaskError(self.factory.__name__, self.method, str(owned)) from None
        child = _CallGreenlet(lambda: run_with_shims(connections, lambda: run_work(self, work)), greenlet.getcurrent())
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
