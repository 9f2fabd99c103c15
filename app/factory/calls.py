"""One public factory call, whichever engine runs its sync work (``engines``), and what that work asks
of it: the call it runs in, whether it was cancelled, a value to await."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Model

if TYPE_CHECKING:
    from .engines import Engine

R = TypeVar("R")


class Cancelled(BaseException):
    """Raised in a call's sync work at an object boundary once the task awaiting the call was cancelled.

    A BaseException, as ``asyncio.CancelledError``: ``except Exception`` in user hooks lets it
    pass, so the call's transaction rolls back. The awaiting task gets ``CancelledError``.
    """


class Call:
    """One public factory call: awaited on the event loop, its sync work run by ``engine``.

    ``files`` holds a FieldFile for each file value the call saves (``orm.own_unsaved_files``), to
    delete what it wrote if the call rolls back. ``parent`` is the call this one runs inside (from an
    async hook), if any; ``transaction`` its open transaction (``app.factory.transactions``).
    """

    __slots__ = (
        "aliases",
        "before_await",
        "engine",
        "factory",
        "files",
        "method",
        "parent",
        "parsed",
        "stopped",
        "transaction",
    )

    def __init__(self, engine: Engine, factory: type[Any], method: str) -> None:
        self.engine = engine
        self.factory = factory
        self.method = method
        self.stopped = False  # set by the engine when the awaiting task is cancelled
        self.parent: Call | None = None
        self.files: list[Any] = []
        self.transaction: contextlib.ExitStack | None = None  # while its transaction is open
        self.parsed: dict[Any, Any] = {}  # declarations parsed for this call (builder.py)
        self.aliases: list[str] | None = None  # the databases it writes to, if the engine's choice read them
        # Run before the call's sync work awaits code of the user's (bulk.py: insert what is queued).
        self.before_await: Callable[[], None] | None = None

    async def run(self, work: Callable[[], R]) -> R:
        """Run ``work()``, the call's sync work, where the engine runs it; return its result."""
        raise NotImplementedError


def run_work(call: Call, work: Callable[[], R]) -> R:
    """``work()``, the sync work of ``call``, as both engines run it."""
    try:
        return work()
    except StopIteration as exc:
        # asyncio cannot set a StopIteration on a future: the awaiting task would hang.
        raise RuntimeError(
            f"{call.factory.__name__}.{call.method}() raised StopIteration from user code (next() on an "
            "exhausted iterator, or an exhausted factory.Iterator(..., cycle=False))."
        ) from exc


# The calls whose sync work runs in each thread now, innermost last. Not a ContextVar: asgiref copies a
# sync call's context changes back to the awaiting task, also when that task stops waiting (cancelled).
_threads = threading.local()


def running_calls() -> list[Call]:
    """The calls whose sync work runs in this thread now, innermost last (the engines keep it)."""
    try:
        return _threads.calls  # type: ignore[no-any-return]
    except AttributeError:
        _threads.calls = []
        return _threads.calls  # type: ignore[no-any-return]


def current_call() -> Call | None:
    """The innermost call whose sync work runs in this thread now, or None (in a coroutine, say)."""
    running = running_calls()
    return running[-1] if running else None


def check_cancelled() -> None:
    """At an object boundary: raise ``Cancelled`` if this call, or one it runs inside, was cancelled."""
    call = current_call()
    while call is not None:
        if call.stopped:
            raise Cancelled
        call = call.parent


def in_sync_code_of_a_call() -> bool:
    """True in sync code that a factory call runs (a sync hook or declaration), where nothing can await.

    An AsyncFactory call made there returns a coroutine nobody can await (``SyncCallError``).
    """
    call = current_call()
    return call is not None and call.engine.in_sync_code(call)


def in_event_loop_code() -> bool:
    """True in a coroutine on the event loop (an async declaration), where no call's sync work runs."""
    return asyncio._get_running_loop() is not None and current_call() is None  # no error without a loop


def resolve(value: Any) -> Any:
    """Return ``value``; if it is awaitable, await it in the calling task and return its result.

    Called from a call's sync work: the engine awaits the coroutine where the call's queries go, so
    they join the call's transaction.
    """
    if type(value) in _PLAIN or isinstance(value, Model):
        return value
    if inspect.isawaitable(value):
        call = current_call()
        if call is None:
            from .thread_engine import THREAD  # sync code of no call: asgiref's way

            return THREAD.wait(value)
        return call.engine.wait(value)
    return value


# Types of values that are never awaitable, with model instances: most declarations give these.
_PLAIN = frozenset({str, int, float, bool, bytes, type(None), dict, list, tuple})
