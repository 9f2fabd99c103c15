"""The thread hops between the event loop and the sync factory_boy machinery, and the state of
one call that crosses them: cancellation, the files it wrote, the call it runs inside."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync, sync_to_async
from django.db.models import Model

R = TypeVar("R")

_QUEUED, _RUNNING, _DONE = range(3)


class Cancelled(BaseException):
    """Raised in the ORM thread at an object boundary of a call whose awaiting task was cancelled.

    A BaseException, as ``asyncio.CancelledError``: ``except Exception`` in user hooks lets it
    pass, so the call's transaction rolls back. The awaiting task gets ``CancelledError``.
    """


class Call:
    """One public factory call: awaited on the event loop, run in Django's ORM thread.

    ``files`` holds the ``(instance, field name)`` of each file value the call saves, to delete
    if it rolls back. ``parent`` is the call this one runs inside (from an async hook), if any;
    ``transaction`` its open transaction (``app.factory.transactions``).
    """

    __slots__ = (
        "_lock",
        "_state",
        "_waiter",
        "executor",
        "factory",
        "files",
        "method",
        "parent",
        "parsed",
        "stopped",
        "transaction",
    )

    def __init__(self, factory: type[Any], method: str) -> None:
        self.factory = factory
        self.method = method
        self.stopped = False
        self.parent: Call | None = None
        self.files: list[tuple[Any, str]] = []
        self.executor: object = None
        self.transaction: contextlib.ExitStack | None = None  # while its transaction is open
        self.parsed: dict[Any, Any] = {}  # declarations parsed for this call (builder.py)
        self._lock = threading.Lock()
        self._state = _QUEUED
        self._waiter: asyncio.Future[None] | None = None

    async def run(self, work: Callable[[], R]) -> R:
        """Run ``work()`` in the ORM thread; if the awaiting task is cancelled, stop it there first.

        asgiref's ``sync_to_async`` lets the sync work run on when the task awaiting it is
        cancelled. Here the work stops at its next object boundary (``check_cancelled``) and rolls
        back before ``CancelledError`` reaches the caller; work still queued never starts.
        """
        try:
            return await _in_orm_thread(self, work)
        except asyncio.CancelledError:
            await self._stop()
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
        running = _running_calls()
        # A call made while another runs in this thread was made by that call's async hooks or
        # declarations: asgiref brings their ORM calls back to the thread that awaits them.
        self.parent = running[-1] if running else None
        self.executor = getattr(AsyncToSync.executors, "current", None)
        running.append(self)
        try:
            return work()
        except StopIteration as exc:
            # asyncio cannot set a StopIteration on a future: the awaiting task would hang.
            raise RuntimeError(
                f"{self.factory.__name__}.{self.method}() raised StopIteration from user code (next() on an "
                "exhausted iterator, or an exhausted factory.Iterator(..., cycle=False))."
            ) from exc
        finally:
            running.pop()
            with self._lock:
                self._state = _DONE
                waiter = self._waiter
            if waiter is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
                    waiter.get_loop().call_soon_threadsafe(_wake, waiter)


# One SyncToAsync for every call, not one built per call: asgiref keeps no per-call state on it.
_in_orm_thread = sync_to_async(Call._run, thread_sensitive=True)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


# The calls running in each thread, innermost last. Not a ContextVar: asgiref copies a sync
# call's context changes back to the awaiting task, also when that task stops waiting (cancelled).
_threads = threading.local()


def _running_calls() -> list[Call]:
    try:
        return _threads.calls  # type: ignore[no-any-return]
    except AttributeError:
        _threads.calls = []
        return _threads.calls  # type: ignore[no-any-return]


def current_call() -> Call | None:
    """The innermost call whose work runs in this thread (the ORM thread), or None."""
    running = _running_calls()
    return running[-1] if running else None


def check_cancelled() -> None:
    """At an object boundary: raise ``Cancelled`` if this call, or one it runs inside, was cancelled."""
    call = current_call()
    while call is not None:
        if call.stopped:
            raise Cancelled
        call = call.parent


def in_sync_code_of_a_call() -> bool:
    """True in sync code that a factory call runs (a sync hook or declaration), where no loop runs.

    An AsyncFactory call made there returns a coroutine nobody can await. ``async_to_sync`` around
    it registers a new executor in ``AsyncToSync.executors`` (asgiref 3.x, checked on 3.8 to
    3.13): that is how ``async_to_sync(UserFactory.create)()`` in a hook is told from a bare call.
    """
    call = current_call()
    if call is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return getattr(AsyncToSync.executors, "current", None) is call.executor
    return False


async def _await(awaitable: Awaitable[R]) -> R:
    return await awaitable


def resolve(value: Any) -> Any:
    """Return ``value``; if it is awaitable, await it on the event loop and return its result.

    Called from the sync ORM thread: asgiref runs the coroutine on the outer loop, and the
    ``sync_to_async(thread_sensitive=True)`` calls it makes come back to this thread, so the
    coroutine's queries join the transaction of the call.
    """
    if type(value) in _PLAIN or isinstance(value, Model):
        return value
    if inspect.isawaitable(value):
        return async_to_sync(_await)(value)
    return value


# Types of values that are never awaitable, with model instances: most declarations give these.
_PLAIN = frozenset({str, int, float, bool, bytes, type(None), dict, list, tuple})


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
