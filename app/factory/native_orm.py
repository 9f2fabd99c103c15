"""Django's sync ORM on django-async-backend's asyncio connection, for the sync work of a native call.

While a native call runs (``native_engine``), ``django.db.connections[alias]`` of each native alias is,
in the calling task's context only, a ``GreenletDatabaseWrapper``: the alias's own sync DatabaseWrapper
class (its operations, features and SQL compilers) whose connection-level methods await the task's
``AsyncDatabaseWrapper`` with ``await_only``, and whose transaction state *is* the async wrapper's.
So factory_boy's ``manager.create()``, ``save()`` and its overrides, signal receivers, ``get_or_create``,
``bulk_create``, ``full_clean()``, a related manager's ``add()`` and ``transaction.atomic()`` in the
call's sync code all run on the task's asyncio connection, in the caller's ``async_atomic()`` if any,
with no thread hop. Other threads keep Django's own sync connections (``connections`` is thread-critical).

This module reaches into private details, checked against Django 6.1 with django-async-backend 6.1.x
(the only Django it supports): the transaction state ``django.db.transaction.Atomic`` keeps on a
connection (``_SHARED_STATE``), ``ConnectionHandler._connections`` (to give back what was there), and
the async wrapper's owner task (``_task``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.db import connections
from django.db.utils import load_backend
from django_async_backend.db import async_connections  # type: ignore[import-not-found,import-untyped,unused-ignore]  # optional

R = TypeVar("R")

# The attributes of a connection that transaction.atomic() and on_commit() read and write: shared
# with the async wrapper, so that a sync atomic() nests in the caller's async_atomic() and back. And
# health_check_done: a call outside a transaction asks for a health check (transactions._refresh),
# which the async wrapper makes before its next cursor (CONN_HEALTH_CHECKS).
_SHARED_STATE = (
    "health_check_done",
    "in_atomic_block",
    "savepoint_ids",
    "atomic_blocks",
    "needs_rollback",
    "rollback_exc",
    "commit_on_exit",
    "closed_in_transaction",
    "run_on_commit",
    "run_commit_hooks_on_set_autocommit_on",
    "savepoint_state",
    "autocommit",
    "queries_log",
    "force_debug_cursor",
    "errors_occurred",
)


def await_only(awaitable: Any) -> Any:
    """Await ``awaitable``, a coroutine of the database layer, from the native call's sync work."""
    from .native_engine import await_only as wait

    return wait(awaitable, start_here=True)


class GreenletCursor:
    """A sync DB-API cursor over the async backend's cursor: each call awaited in the calling task.

    The connection's ``execute_wrappers`` apply to each ``execute``, as in Django's ``CursorWrapper``;
    the async cursor logs, validates and wraps errors as the async backend does.
    """

    def __init__(self, connection: Any, cursor: Any) -> None:
        self._connection = connection
        self._cursor = cursor

    def execute(self, sql: str, params: Any = None) -> Any:
        return self._with_wrappers(sql, params, False)

    def executemany(self, sql: str, param_list: Any) -> Any:
        return self._with_wrappers(sql, param_list, True)

    def _with_wrappers(self, sql: str, params: Any, many: bool) -> Any:
        executor = self._execute
        for wrapper in reversed(self._connection.execute_wrappers):
            executor = _bound(wrapper, executor)
        return executor(sql, params, many, {"connection": self._connection, "cursor": self})

    def _execute(self, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if many:
            return await_only(self._cursor.executemany(sql, params))
        return await_only(self._cursor.execute(sql) if params is None else self._cursor.execute(sql, params))

    def fetchone(self) -> Any:
        return await_only(self._cursor.fetchone())

    def fetchmany(self, size: int = 0) -> Any:
        return await_only(self._cursor.fetchmany(size))

    def fetchall(self) -> Any:
        return await_only(self._cursor.fetchall())

    def close(self) -> None:
        await_only(self._cursor.close())

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    def __enter__(self) -> GreenletCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:  # rowcount, description, lastrowid...
        return getattr(self._cursor, name)


def _bound(wrapper: Any, executor: Any) -> Any:
    return lambda sql, params, many, context: wrapper(executor, sql, params, many, context)


_classes: dict[type, type] = {}


def _shim_class(sync_class: type) -> type:
    """``sync_class`` (an alias's sync DatabaseWrapper) with its connection methods on the async wrapper."""
    known = _classes.get(sync_class)
    if known is not None:
        return known

    def shared(name: str) -> property:
        return property(lambda self: getattr(self._async, name), lambda self, value: setattr(self._async, name, value))

    def cursor(self: Any, name: Any = None) -> GreenletCursor:
        return GreenletCursor(self, await_only(self._async.cursor()))

    def set_autocommit(
        self: Any, autocommit: bool, force_begin_transaction_with_broken_autocommit: bool = False
    ) -> None:
        await_only(self._async.set_autocommit(autocommit, force_begin_transaction_with_broken_autocommit))

    namespace: dict[str, Any] = {name: shared(name) for name in _SHARED_STATE}
    namespace.update(
        __doc__="An alias's sync DatabaseWrapper whose queries and transactions run on the task's async connection.",
        cursor=cursor,
        chunked_cursor=cursor,
        _cursor=cursor,
        ensure_connection=lambda self: await_only(self._async.ensure_connection()),
        connect=lambda self: await_only(self._async.ensure_connection()),
        get_autocommit=lambda self: await_only(self._async.get_autocommit()),
        set_autocommit=set_autocommit,
        commit=lambda self: await_only(self._async.commit()),
        rollback=lambda self: await_only(self._async.rollback()),
        savepoint=lambda self: await_only(self._async.savepoint()),
        savepoint_rollback=lambda self, sid: await_only(self._async.savepoint_rollback(sid)),
        savepoint_commit=lambda self, sid: await_only(self._async.savepoint_commit(sid)),
        close=lambda self: await_only(self._async.close()),
        on_commit=lambda self, func, robust=False: await_only(self._async.on_commit(func, robust)),
        is_usable=lambda self: await_only(self._async.is_usable()),
        connection=property(lambda self: self._async.connection, lambda self, value: None),
    )
    shim = type(f"Greenlet{sync_class.__name__}", (sync_class,), namespace)
    _classes[sync_class] = shim
    return shim


def shims(aliases: list[str], task: Any) -> list[tuple[str, Any]]:
    """The shim of the calling task's async connection of each alias (made once, kept on the connection).

    Raises ``OwnedByAnotherTaskError(alias)`` if another task owns one of those connections.
    """
    made = []
    for alias in aliases:
        async_connection = async_connections[alias]
        owner = async_connection._task  # the task that first used it (django-async-backend 6.1)
        if owner is not None and owner is not task:
            raise OwnedByAnotherTaskError(alias)
        shim = async_connection.__dict__.get("_greenlet_shim")
        if shim is None:
            shim = async_connection._greenlet_shim = _make_shim(alias, async_connection)
        made.append((alias, shim))
    return made


class OwnedByAnotherTaskError(Exception):
    """Another task owns the context's async connection of an alias (``native_engine`` names the fix)."""


def _make_shim(alias: str, async_connection: Any) -> Any:
    sync_class = load_backend(connections.settings[alias]["ENGINE"]).DatabaseWrapper
    shim_class = _shim_class(sync_class)
    state = {name: getattr(async_connection, name) for name in _SHARED_STATE}
    shim: Any = object.__new__(shim_class)
    shim._async = async_connection
    sync_class.__init__(shim, connections.settings[alias], alias)
    for name, value in state.items():  # BaseDatabaseWrapper.__init__ reset the shared state: put it back
        setattr(async_connection, name, value)
    return shim


def run_with_shims(shims: list[tuple[str, Any]], work: Callable[[], R]) -> R:
    """``work()`` with ``connections[alias]`` the shims, in the calling task's context; then what was there."""
    # ConnectionHandler's storage, read directly: connections[alias] would open a connection to return it.
    storage = connections._connections  # type: ignore[attr-defined]
    previous = []
    for alias, shim in shims:
        connection = getattr(storage, alias, None)
        if connection is not shim:  # not already installed by a call this one runs inside
            previous.append((alias, connection))
            setattr(storage, alias, shim)
    try:
        return work()
    finally:
        for alias, connection in previous:
            if connection is None:
                delattr(storage, alias)
            else:
                setattr(storage, alias, connection)
