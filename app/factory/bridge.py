"""The two thread hops between the event loop and the sync factory_boy machinery."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync, sync_to_async
from django.db import transaction

R = TypeVar("R")


# The AsyncToSync executor of the ORM thread when the current factory call started in it.
_NO_CALL = object()
_call_executor: ContextVar[object] = ContextVar("call_executor", default=_NO_CALL)


def _in_transaction(work: Callable[[], R], using: str | None) -> R:
    token = _call_executor.set(getattr(AsyncToSync.executors, "current", None))
    try:
        if using is None:
            return work()
        with transaction.atomic(using=using):
            return work()
    finally:
        _call_executor.reset(token)


async def run_in_db_thread(work: Callable[[], R], *, atomic_using: str | None) -> R:
    """Run ``work`` in Django's sync ORM thread, inside one transaction when a database is named.

    thread_sensitive=True puts the work on the thread Django's own async ORM uses, so every
    query of one call (sub-factories, hooks, async hooks awaited via ``resolve``) shares one
    connection and one transaction.
    """
    return await sync_to_async(_in_transaction, thread_sensitive=True)(work, atomic_using)


def awaiting_is_possible() -> bool:
    """False in plain sync code (a script, a sync hook): no running loop, not in ``async_to_sync``.

    ``async_to_sync(fn)()`` calls ``fn`` in the sync thread, before its loop runs, after
    registering a new executor for that thread in ``AsyncToSync.executors`` (asgiref 3.x,
    checked on 3.8 to 3.13): that is how ``async_to_sync(UserFactory.create)()`` is told from a
    bare call, also in a sync hook whose thread is itself under an outer ``async_to_sync``.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        current = getattr(AsyncToSync.executors, "current", None)
        return current is not None and current is not _call_executor.get()
    return True


async def _await(awaitable: Awaitable[R]) -> R:
    return await awaitable


def resolve(value: Any) -> Any:
    """Return ``value``; if it is awaitable, await it on the event loop and return its result.

    Called from the sync ORM thread: asgiref runs the coroutine on the outer loop, and the
    ``sync_to_async(thread_sensitive=True)`` calls it makes come back to this thread, so the
    coroutine's queries join the transaction of the call.
    """
    if inspect.isawaitable(value):
        return async_to_sync(_await)(value)
    return value


def call_in_thread_sensitive_executor(func: Callable[[], R]) -> R:
    """Run ``func`` in asgiref's thread-sensitive executor thread and return its result.

    That thread runs the ``sync_to_async(thread_sensitive=True)`` calls (Django's async ORM, this
    package's calls) of every event loop that is not under ``async_to_sync``: pytest-asyncio's,
    anyio's, ``asyncio.run``'s. Call it from sync code. asgiref keeps the thread's executor as
    ``SyncToAsync.single_thread_executor`` (asgiref 3.x, checked on 3.8 to 3.13).
    """
    return SyncToAsync.single_thread_executor.submit(func).result()
