"""Errors raised by the async factory layer."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from factory.errors import FactoryError


class AsyncFactoryError(FactoryError):
    """Base class of the errors this package raises itself."""


class AbstractFactoryError(AsyncFactoryError):
    """An abstract factory (no ``Meta.model``) was asked for objects."""

    def __init__(self, factory_name: str) -> None:
        super().__init__(
            f"Cannot generate instances of abstract factory {factory_name}; "
            f"set {factory_name}.Meta.model and leave {factory_name}.Meta.abstract unset or False."
        )


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


class FactoryValidationError(ValidationError, AsyncFactoryError):
    """A CleanModelFactory's object failed ``full_clean()``, so nothing of the call was saved.

    A ``django.core.exceptions.ValidationError``: ``error_dict`` and ``message_dict`` are Django's.
    """

    def __init__(self, summary: str, error: ValidationError) -> None:
        super().__init__(error.error_dict if hasattr(error, "error_dict") else error.error_list)
        self.summary = summary

    def __str__(self) -> str:
        return self.summary


class UniqueUsernameError(AsyncFactoryError):
    """AuthUserFactory found no unused value for the user model's USERNAME_FIELD."""

    def __init__(self, factory_name: str, model_label: str, field_name: str, tries: int) -> None:
        super().__init__(
            f"{factory_name} could not find an unused {field_name} for {model_label} in {tries} tries "
            "(each Faker value was already tried in this process, already in the database, or invalid "
            f"for the field). Fix: pass {field_name}=... yourself."
        )


class OptionalSubFactoryError(AsyncFactoryError):
    """An OptionalSubFactory got contradicting arguments or sits on a field that cannot be None."""


class LateAttributeError(AsyncFactoryError, AttributeError):
    """An async LazyAttribute read a declaration that was not computed yet."""

    def __init__(self, factory_name: str, name: str) -> None:
        super().__init__(
            f"An async function of {factory_name} read {name!r} before it was computed. Async "
            "LazyAttribute functions run on the event loop and can read only declarations resolved "
            f"before them. Fix: declare {name!r} above the async declaration in {factory_name}, or "
            "make the declaration that reads it a sync LazyAttribute."
        )


class BulkCreateError(AsyncFactoryError):
    """``bulk_create_batch`` cannot insert these objects with ``bulk_create``."""


class IsolationError(AsyncFactoryError, RuntimeError):
    """A thread opened its own database connection during a rolled-back async test (pytest plugin)."""
