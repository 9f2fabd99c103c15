"""Sync context managers that use the database, around awaited calls in async tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Generic, TypeVar

from asgiref.sync import sync_to_async

T = TypeVar("T")


class in_orm_thread(AbstractContextManager[T], AbstractAsyncContextManager[T], Generic[T]):  # noqa: N801 - used like a function
    """``make(*args, **kwargs)``'s context manager, made and entered where Django's ORM runs.

    ``async with in_orm_thread(self.assertNumQueries, 2): await ...`` makes, enters and exits it in
    the ORM thread (the thread of ``sync_to_async(thread_sensitive=True)``), on the connection the
    awaited ORM calls use: in a Django ``TestCase`` and under the pytest plugin, the connection of
    the test's transaction. Plain ``with`` works from sync code, as the context manager would;
    inside a running event loop it works only where ``_blocking_hop`` says how to reach the ORM
    thread (the pytest plugin's query counters), and otherwise fails saying to use ``async with``.
    """

    def __init__(self, make: Callable[..., AbstractContextManager[T]], *args: Any, **kwargs: Any) -> None:
        self._make = make
        self._args = args
        self._kwargs = kwargs
        self._context: AbstractContextManager[T] | None = None
        self._hop: Callable[[Callable[[], Any]], Any] | None = None

    def _blocking_hop(self) -> Callable[[Callable[[], Any]], Any] | None:
        """How a plain ``with`` inside a running event loop runs sync code in the ORM thread, or None."""
        return None

    def _enter(self) -> T:
        self._context = self._make(*self._args, **self._kwargs)
        return self._context.__enter__()

    def _exit(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> Any:
        assert self._context is not None, "exited before it was entered"
        return self._context.__exit__(exc_type, exc, tb)

    def __enter__(self) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._enter()
        self._hop = self._blocking_hop()
        if self._hop is not None:
            return self._hop(self._enter)  # type: ignore[no-any-return]
        name = getattr(self._make, "__name__", "in_orm_thread")
        raise RuntimeError(
            f"{name}(...) was entered with `with` inside a running event loop, where the database cannot "
            f"be used (awaited ORM calls run in another thread). Fix: `async with {name}(...):`."
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        hop, self._hop = self._hop, None
        if hop is not None:
            return hop(lambda: self._exit(exc_type, exc, tb))  # type: ignore[no-any-return]
        return self._exit(exc_type, exc, tb)  # type: ignore[no-any-return]

    async def __aenter__(self) -> T:
        return await sync_to_async(self._enter, thread_sensitive=True)()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await sync_to_async(self._exit, thread_sensitive=True)(exc_type, exc, tb)  # type: ignore[no-any-return]
