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
            "(a script, a sync test, a sync post_generation hook) with no running event loop. "
            f"Fix: `await {factory_name}.{method}(...)` in async code (make the hook `async def`, or "
            f"use a RelatedFactory), or `asgiref.sync.async_to_sync({factory_name}.{method})(...)` "
            "from sync code; for a purely sync factory subclass factory.django.DjangoModelFactory."
        )


class UnknownFieldError(AsyncFactoryError, TypeError):
    """A factory passed its model keyword arguments that are neither fields nor properties."""

    def __init__(self, factory_name: str, model_name: str, names: list[str]) -> None:
        listed = ", ".join(repr(n) for n in names)
        super().__init__(
            f"{factory_name} gave {model_name} unknown field(s) {listed}. Fix: correct the name in the "
            f"call or the declaration, or list it in {factory_name}.Meta.exclude or {factory_name}.Params "
            "if it is only an input to other declarations."
        )
