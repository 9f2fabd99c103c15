"""Errors raised by the async factory layer."""

from __future__ import annotations

from factory.errors import FactoryError


class AsyncFactoryError(FactoryError):
    """Base class of the errors this package raises itself."""


class SyncCallError(AsyncFactoryError, RuntimeError):
    """An AsyncFactory entry point was called with no running event loop."""

    def __init__(self, factory_name: str, method: str) -> None:
        super().__init__(
            f"{factory_name}.{method}() is a coroutine function and was called from sync code "
            f"with no running event loop. Fix: `await {factory_name}.{method}(...)` inside "
            f"async code, or from sync code `asgiref.sync.async_to_sync({factory_name}.{method})(...)`; "
            "for a purely sync factory subclass factory.django.DjangoModelFactory instead."
        )
