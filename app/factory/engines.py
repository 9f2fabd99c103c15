"""Which engine runs a call, chosen here and nowhere else: from the databases the call writes to.

- ``thread_engine``: Django's sync ORM in its ORM thread, one hop per call (every standard backend);
- ``native_engine``: django-async-backend's asyncio connection, in the calling task, no hop (its
  PostgreSQL engine). Imported only when a configured database uses it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.utils import load_backend

from .errors import MixedEnginesError, NativeSyncConnectionError, UnknownDatabaseError
from .thread_engine import THREAD
from .transactions import write_aliases

if TYPE_CHECKING:
    from .calls import Call

R = TypeVar("R")


class Engine(Protocol):
    """Runs the sync work of calls: where, on which connections, and how it awaits."""

    name: str

    def call(self, factory: type[Any], method: str) -> Call:
        """A new call of ``factory.method``, whose ``run(work)`` the caller awaits."""

    def wait(self, awaitable: Awaitable[R]) -> R:
        """From the call's sync work: ``awaitable``'s result, awaited in the calling task."""

    def in_sync_code(self, call: Call) -> bool:
        """Whether the running code is ``call``'s sync work, where nothing can be awaited."""


def engine_for(factory_class: type[Any], extras: dict[str, Any]) -> tuple[Engine, list[str] | None]:
    """The engine of a call of ``factory_class`` with ``extras``: native if its databases all use
    django-async-backend, the thread engine if none does; and those databases, if it had to read them."""
    natives = native_aliases()
    if not natives:
        return THREAD, None
    try:
        aliases = write_aliases(factory_class, extras)
    except UnknownDatabaseError:
        return THREAD, None  # its calls that write raise it there; a build writes nowhere
    native = [alias for alias in aliases if alias in natives]
    if not native:
        return THREAD, aliases
    if len(native) < len(aliases):
        standard = [alias for alias in aliases if alias not in natives]
        raise MixedEnginesError(factory_class.__name__, native, standard)
    from .native_engine import NATIVE

    return NATIVE, aliases


def native_aliases() -> list[str]:
    """The configured aliases that use django-async-backend (worked out again when the settings change)."""
    global _native_aliases
    settings = connections.settings
    if _native_aliases[0] is not settings or _native_aliases[1] != len(settings):
        aliases = [alias for alias, options in settings.items() if is_native_engine(options["ENGINE"])]
        _native_aliases = (settings, len(settings), aliases)
    return _native_aliases[2]


_native_aliases: tuple[Any, int, list[str]] = (None, 0, [])


@cache
def is_native_engine(engine: str) -> bool:
    """Whether ``settings.DATABASES``'s ``ENGINE`` is django-async-backend's: its module has an async wrapper.

    django-async-backend's own test (``AsyncConnectionHandler.create_connection``); it imports the
    configured backend and nothing else.
    """
    return hasattr(load_backend(engine), "AsyncDatabaseWrapper")


# --- Django's sync connection to a native database, used during a native call ----------------------

#: The native call whose sync work awaits what runs in this task now (an async hook), if any: a call
#: made there runs inside it (``native_engine``). asgiref copies it into ``sync_to_async`` threads.
awaiting_native_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "asyncfactory_awaiting_native_call", default=None
)


def _guard(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Give each of Django's sync connections to a native database ``_refuse_during_native_calls``.

    ``await Model.objects.acreate()`` or ``await related.aadd()`` in an async hook of a native call run
    Django's sync ORM in a thread, on another connection, outside the call's transaction: its rows would
    stay when the call rolls back. Connected when this module is imported, before a test's or an
    application's connections open; django-async-backend's own asyncio connections send this signal too.
    """
    native = isinstance(connection, BaseDatabaseWrapper) and is_native_engine(connection.settings_dict["ENGINE"])
    if native and _refuse_during_native_calls not in connection.execute_wrappers:
        connection.execute_wrappers.append(_refuse_during_native_calls)


def _refuse_during_native_calls(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    call = awaiting_native_call.get()
    if call is not None:
        raise NativeSyncConnectionError(call.factory.__name__, call.method, context["connection"].alias, sql)
    return execute(sql, params, many, context)


connection_created.connect(_guard, weak=False, dispatch_uid="app.factory.engines.guard")
