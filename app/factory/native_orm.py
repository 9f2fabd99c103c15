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

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.utils import load_backend
from django_async_backend.db import async_connections  # type: ignore[import-not-found,import-untyped,unused-ignore]  # optional

# The attributes of a connection that transaction.atomic() and on_commit() read and write: shared
# with the async wrapper, so that a sync atomic() nests in the caller's async_atomic() and back.
_SHARED_STATE = (
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
    """Await ``awaitable`` from the native call's sync work (``native_engine.await_only``)."""
    from .native_engine import await_only as wait

    return wait(awaitable)


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


def _shim(alias: str) -> Any:
    """The shim of the calling task's async connection of ``alias``: made once, kept on that connection."""
    async_connection = async_connections[alias]
    known = async_connection.__dict__.get("_greenlet_shim")
    if known is not None:
        return known
    sync_class = load_backend(connections.settings[alias]["ENGINE"]).DatabaseWrapper
    shim_class = _shim_class(sync_class)
    state = {name: getattr(async_connection, name) for name in _SHARED_STATE}
    shim: Any = object.__new__(shim_class)
    shim._async = async_connection
    sync_class.__init__(shim, connections.settings[alias], alias)
    for name, value in state.items():  # BaseDatabaseWrapper.__init__ reset the shared state: put it back
        setattr(async_connection, name, value)
    async_connection._greenlet_shim = shim
    return shim


@contextmanager
def sync_orm_on_async_connections(aliases: list[str]) -> Iterator[None]:
    """Make ``connections[alias]`` the task's async connection for sync code, then put back what was there."""
    # ConnectionHandler's storage, read directly: connections[alias] would open a connection to return it.
    storage = connections._connections  # type: ignore[attr-defined]
    previous = {alias: getattr(storage, alias, None) for alias in aliases}
    for alias in aliases:
        connections[alias] = _shim(alias)
    try:
        yield
    finally:
        for alias, connection in previous.items():
            if connection is None:
                delattr(storage, alias)
            else:
                connections[alias] = connection


def owner_task(alias: str) -> Any:
    """The task that owns the calling context's async connection of ``alias`` (None: not used yet)."""
    return getattr(async_connections[alias], "_task", None)
