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
    the test's transaction. Plain ``with`` works from sync code, as the context manager would.
    """

    def __init__(self, make: Callable[..., AbstractContextManager[T]], *args: Any, **kwargs: Any) -> None:
        self._make = make
        self._args = args
        self._kwargs = kwargs
        self._context: AbstractContextManager[T] | None = None

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
        name = getattr(self._make, "__name__", "in_orm_thread")
        raise RuntimeError(
            f"{name}(...) was entered with `with` inside a running event loop, where the database cannot "
            f"be used (awaited ORM calls run in another thread). Fix: `async with {name}(...):`."
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return self._exit(exc_type, exc, tb)  # type: ignore[no-any-return]

    async def __aenter__(self) -> T:
        return await sync_to_async(self._enter, thread_sensitive=True)()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await sync_to_async(self._exit, thread_sensitive=True)(exc_type, exc, tb)  # type: ignore[no-any-return]
