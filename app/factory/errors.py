"""Errors raised by the async factory layer."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.connection import ConnectionDoesNotExist
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
    """An AsyncFactory entry point was called from sync code that a factory call runs (a sync hook)."""

    def __init__(self, factory_name: str, method: str) -> None:
        super().__init__(
            f"{factory_name}.{method}() is a coroutine function and was called from sync code inside a "
            "factory call (a sync post_generation hook, LazyFunction or _create), where nothing can await "
            f"it. Fix: make the hook `async def` and `await {factory_name}.{method}(...)`, use a "
            f"RelatedFactory, or call `asgiref.sync.async_to_sync({factory_name}.{method})(...)`."
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


class UnknownDatabaseError(AsyncFactoryError, ConnectionDoesNotExist):
    """A factory's ``Meta.database`` names no database of ``settings.DATABASES``."""

    def __init__(self, factory_name: str, database: str, configured: list[str]) -> None:
        listed = ", ".join(repr(alias) for alias in configured)
        super().__init__(
            f"{factory_name}.Meta.database = {database!r} names no database; settings.DATABASES has {listed}. "
            f"Fix: set {factory_name}.Meta.database to one of them, or add {database!r} to settings.DATABASES."
        )


class MixedEnginesError(AsyncFactoryError):
    """One call would write to databases of django-async-backend and of a standard backend."""

    def __init__(self, factory_name: str, native: list[str], standard: list[str]) -> None:
        super().__init__(
            f"{factory_name} writes to {', '.join(map(repr, native))} (django-async-backend, asyncio connections) "
            f"and to {', '.join(map(repr, standard))} (a standard backend, Django's sync connections) in one call, "
            "which no transaction can span. Fix: send the factory's models (its SubFactory and RelatedFactory "
            "targets included) to databases of one kind, with Meta.database or a database router."
        )


class NativeTaskError(AsyncFactoryError, RuntimeError):
    """A native call was made from a task that does not own the context's async connection."""

    def __init__(self, factory_name: str, method: str, alias: str) -> None:
        super().__init__(
            f"{factory_name}.{method}() runs on django-async-backend, whose connection to {alias!r} belongs to "
            "the task that first used it, and this is another task (asyncio.gather, create_task, a TaskGroup). "
            "Fix: await the calls one after the other in that task, or give this task a connection (and a "
            "transaction) of its own with `async with async_new_connection():`."
        )


class NativeSyncConnectionError(AsyncFactoryError, RuntimeError):
    """During a native call, code ran a query on Django's sync connection of a native database."""

    def __init__(self, factory_name: str, method: str, alias: str, sql: str) -> None:
        super().__init__(
            f"During {factory_name}.{method}(), an async hook ran a query on Django's sync connection to {alias!r} "
            f"({sql[:60]}...): on django-async-backend that is another connection, outside the call's "
            "transaction, so its rows would stay if the call rolled back. Django's a-methods (acreate, asave, "
            "a related manager's aadd...) are sync_to_async wrappers of the sync ORM. Fix: use the async API "
            "(Model.async_objects.acreate(), instance.async_save()), or do the work in a sync hook, whose "
            "queries run on the call's connection."
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


class IteratorExhaustedError(AsyncFactoryError, RuntimeError):
    """A declaration or hook raised StopIteration (asyncio cannot carry it to the awaiting task)."""

    def __init__(self, factory_name: str, name: str) -> None:
        super().__init__(
            f"{factory_name}.{name} raised StopIteration: its iterator is exhausted (a factory.Iterator(..., "
            f"cycle=False) or next() on an exhausted iterator). Fix: give it more values, use cycle=True, or "
            f"pass {name.lstrip('_')}=... in the call."
        )


class FactoryCycleError(AsyncFactoryError, RecursionError):
    """SubFactory declarations lead back to a factory without end."""

    def __init__(self, factory_name: str, cycle: list[tuple[str, str]]) -> None:
        steps = " -> ".join(f"{factory}.{name}" for factory, name in cycle)
        super().__init__(
            f"{factory_name} cannot be made: its SubFactory declarations form a cycle, {steps} -> "
            f"{cycle[0][0]}, so each object needs another without end. Fix: break the cycle with "
            "factory.Maybe, an OptionalSubFactory, or by passing the field (e.g. None or an object) in the call."
        )
