"""The thread engine: a call's sync work runs in Django's ORM thread, on Django's sync connections.

Django's async ORM is its sync ORM behind ``sync_to_async(thread_sensitive=True)``: every ``acreate()``
is a hop to asgiref's thread-sensitive executor thread. A call hops there once, runs factory_boy's
sync machinery for its whole object graph in one ``transaction.atomic()``, and awaits the async
parts of a factory back on the event loop with ``async_to_sync``; the ORM calls they make come back
to the same thread, the same connection, the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync, sync_to_async

from .calls import Call, Cancelled, run_work, running_calls

R = TypeVar("R")

_QUEUED, _RUNNING, _DONE = range(3)


class ThreadCall(Call):
    """A call whose sync work runs in the ORM thread: it can be stopped there at an object boundary."""

    __slots__ = ("_lock", "_state", "_waiter", "executor")

    def __init__(self, factory: type[Any], method: str) -> None:
        super().__init__(THREAD, factory, method)
        self.executor: object = None
        self._lock = threading.Lock()
        self._state = _QUEUED
        self._waiter: asyncio.Future[None] | None = None

    async def run(self, work: Callable[[], R]) -> R:
        """Run ``work()`` in the ORM thread; if the awaiting task is cancelled, stop it there first.

        asgiref's ``sync_to_async`` lets the sync work run on when the task awaiting it is
        cancelled. Here the work stops at its next object boundary (``check_cancelled``) and rolls
        back before ``CancelledError`` reaches the caller; work still queued never starts.
        """
        context = contextvars.copy_context()  # O(1): what the caller's context holds before the call
        try:
            return await _in_orm_thread(self, work)
        except asyncio.CancelledError:
            await self._stop()
            _restore(context)
            raise

    async def _stop(self) -> None:
        with self._lock:
            self.stopped = True
            if self._state != _RUNNING:
                return
            self._waiter = waiter = asyncio.get_running_loop().create_future()
        await waiter

    def _run(self, work: Callable[[], R]) -> R:
        with self._lock:
            if self.stopped:
                raise Cancelled
            self._state = _RUNNING
        running = running_calls()
        # A call made while another runs in this thread was made by that call's async hooks or
        # declarations: asgiref brings their ORM calls back to the thread that awaits them.
        self.parent = running[-1] if running else None
        self.executor = getattr(AsyncToSync.executors, "current", None)
        running.append(self)
        try:
            return run_work(self, work)
        finally:
            running.pop()
            with self._lock:
                self._state = _DONE
                waiter = self._waiter
            if waiter is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
                    waiter.get_loop().call_soon_threadsafe(_wake, waiter)


# One SyncToAsync for every call, not one built per call: asgiref keeps no per-call state on it.
_in_orm_thread = sync_to_async(ThreadCall._run, thread_sensitive=True)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _restore(context: contextvars.Context) -> None:
    """Give the caller's context back the values it had in ``context``, after a cancelled call.

    asgiref copies the context of the sync work into the awaiting task when the task stops waiting,
    also while an ``async_to_sync`` of that work (an async hook) is still open: the task would keep
    that call's ``AsyncToSync.executors.current``, an executor that quits with it, and every later
    ``sync_to_async(thread_sensitive=True)`` of the task would fail ("CurrentThreadExecutor already
    quit or is broken"). A cancelled call changed nothing, its context included.
    """
    for variable, value in context.items():
        if variable.get(_UNSET) is not value:
            variable.set(value)
    executor = context.run(getattr, AsyncToSync.executors, "current", None)
    if getattr(AsyncToSync.executors, "current", None) is not executor:
        AsyncToSync.executors.current = executor


_UNSET = object()


async def _await(awaitable: Awaitable[R]) -> R:
    return await awaitable


class ThreadEngine:
    """Runs calls in Django's ORM thread (``ThreadCall``), one hop per call."""

    name = "thread"

    def call(self, factory: type[Any], method: str) -> ThreadCall:
        return ThreadCall(factory, method)

    def wait(self, awaitable: Awaitable[R]) -> R:
        """From the ORM thread: run ``awaitable`` on the event loop; its ORM calls come back to this thread."""
        return async_to_sync(_await)(awaitable)

    def in_sync_code(self, call: Call) -> bool:
        """Whether this thread runs ``call``'s sync code with nothing to await in (no ``async_to_sync`` of its own).

        ``async_to_sync`` registers a new executor in ``AsyncToSync.executors`` (asgiref 3.x, checked
        on 3.8 to 3.13): that is how ``async_to_sync(UserFactory.create)()`` in a hook is told from a
        bare call.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return getattr(AsyncToSync.executors, "current", None) is getattr(call, "executor", None)
        return False


THREAD = ThreadEngine()


def call_in_thread_sensitive_executor(func: Callable[[], R], start_within: float | None = None) -> R:
    """Run ``func`` in asgiref's thread-sensitive executor thread and return its result.

    That thread runs the ``sync_to_async(thread_sensitive=True)`` calls (Django's async ORM, this
    package's calls) of every event loop that is not under ``async_to_sync``: pytest-asyncio's,
    anyio's, ``asyncio.run``'s. Call it from sync code. asgiref keeps the thread's executor as
    ``SyncToAsync.single_thread_executor`` (asgiref 3.x, checked on 3.8 to 3.13). With
    ``start_within``: ``TimeoutError`` if the thread, busy, has not started ``func`` within that
    many seconds (``func`` then never runs).
    """
    future = SyncToAsync.single_thread_executor.submit(func)
    try:
        return future.result(start_within)
    except TimeoutError:
        if future.cancel():
            raise
    return future.result()
