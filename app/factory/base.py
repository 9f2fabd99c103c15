"""AsyncFactory: factory_boy's DjangoModelFactory with an awaitable public API."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from asgiref.sync import markcoroutinefunction
from django.core.exceptions import FieldDoesNotExist
from factory import enums, errors
from factory.base import StubObject
from factory.django import DjangoModelFactory

from .builder import build, remember_params
from .bulk import bulk_generate, one_by_one
from .calls import in_sync_code_of_a_call
from .engines import engine_for
from .errors import AbstractFactoryError, SyncCallError, UnknownFieldError
from .options import AsyncFactoryOptions
from .plans import MAKE_OBJECT, call_plan
from .transactions import run_in_transaction

T = TypeVar("T")
R = TypeVar("R")

_logger = logging.getLogger(__name__.rpartition(".")[0])  # app.factory, or where the package was copied

#: The smallest create_batch that may insert in bulk: below it, the savepoint a bulk insert takes
#: (to tell which object fails, if one does) costs what it saves.
BULK_BATCH_MIN_SIZE = 4


class AsyncFactory(DjangoModelFactory[T], Generic[T]):
    """A DjangoModelFactory whose ``create``/``build``/``stub`` family are awaited.

    Each public call makes one hop to Django's sync ORM thread and runs factory_boy's sync
    machinery there: ``create`` calls run inside one transaction, so a failing call leaves no
    row behind. Declarations, hooks and ``_create`` may be sync or ``async def``.
    """

    class Meta:
        abstract = True

    # factory_boy takes a factory's options class from its bases: this applies to subclasses.
    _options_class = AsyncFactoryOptions

    if TYPE_CHECKING:
        # `XFactory(**kwargs)` goes through factory_boy's metaclass to create/build (a
        # coroutine here); mypy ignores metaclass __call__ but honours __new__.
        def __new__(cls, **kwargs: Any) -> Coroutine[Any, Any, T]: ...  # type: ignore[misc]

    @classmethod
    def _generate(cls, strategy: str, params: dict[str, Any]) -> T:
        """Build one object in the current (sync) thread: the hook every public call ends in."""
        if cls._meta.abstract:
            raise AbstractFactoryError(cls.__name__)
        remember_params(cls, params)
        return cast(T, build(cls._meta, params, strategy))

    @classmethod
    def _generate_many(cls, strategy: str, size: int, params: dict[str, Any]) -> list[T]:
        """``size`` objects, each as ``_generate(strategy, params)`` makes it (sync).

        A simple factory (``builder.Plan``) called with plain values skips factory_boy's
        per-object machinery; its objects are the same.
        """
        if strategy == enums.CREATE_STRATEGY and size >= BULK_BATCH_MIN_SIZE:
            reason = one_by_one(cls, params)
            if _logger.isEnabledFor(logging.DEBUG):
                path = "bulk_create, parents first" if reason is None else f"one save per object: {reason}"
                _logger.debug("%s.create_batch(%d): %s", cls.__name__, size, path)
            if reason is None:
                return bulk_generate(cls, size, params)
        simple = None
        if strategy in MAKE_OBJECT and getattr(cls._generate, "__func__", None) is _GENERATE:
            simple = call_plan(cls, params)
        if simple is None:
            # A fresh dict per object, as factory_boy's batch methods do (the builder pops keys).
            return [cls._generate(strategy, dict(params)) for _ in range(size)]
        make_object = MAKE_OBJECT[strategy]
        return [simple.make(strategy, make_object) for _ in range(size)]

    @classmethod
    def _build(cls, model_class: type[T], *args: Any, **kwargs: Any) -> T:
        try:
            return cast(T, super()._build(model_class, *args, **kwargs))
        except TypeError as exc:
            raise _unknown_field_error(cls, model_class, kwargs, exc) from exc

    @classmethod
    def _create(cls, model_class: type[T], *args: Any, **kwargs: Any) -> T:
        try:
            return cast(T, super()._create(model_class, *args, **kwargs))
        except TypeError as exc:
            raise _unknown_field_error(cls, model_class, kwargs, exc) from exc

    @classmethod
    def _run(
        cls, method: str, work: Callable[[], R], *, writes: bool, extras: dict[str, Any], one_object: bool = False
    ) -> Coroutine[Any, Any, R]:
        if in_sync_code_of_a_call():
            raise SyncCallError(cls.__name__, method)
        engine, aliases = engine_for(cls, extras)
        call = engine.call(cls, method)
        call.aliases = aliases
        if writes:
            run = call.run(lambda: run_in_transaction(call, cls, extras, work, one_object=one_object))
        else:
            run = call.run(work)
        # So that a forgotten await warns "coroutine 'UserFactory.create' was never awaited".
        run.__qualname__ = f"{cls.__name__}.{method}"  # type: ignore[attr-defined]
        return run

    @classmethod
    def _one(cls, method: str, strategy: str, kwargs: dict[str, Any]) -> Coroutine[Any, Any, Any]:
        writes = strategy == enums.CREATE_STRATEGY
        work = lambda: cls._generate_many(strategy, 1, kwargs)[0]  # noqa: E731
        return cls._run(method, work, writes=writes, extras=kwargs, one_object=True)

    @classmethod
    def _many(cls, method: str, strategy: str, size: int, kwargs: dict[str, Any]) -> Coroutine[Any, Any, list[Any]]:
        _check_size(cls, method, size)
        work = lambda: cls._generate_many(strategy, size, kwargs)  # noqa: E731
        return cls._run(method, work, writes=strategy == enums.CREATE_STRATEGY, extras=kwargs)

    # factory_boy's create/build/*_batch return objects; ours return coroutines of them, so
    # mypy sees these overrides as incompatible: that is the point of this class.
    @classmethod
    @markcoroutinefunction
    def create(cls, **kwargs: Any) -> Coroutine[Any, Any, T]:  # type: ignore[override]
        """Create and save one object, in one transaction."""
        return cls._one("create", enums.CREATE_STRATEGY, kwargs)

    @classmethod
    @markcoroutinefunction
    def build(cls, **kwargs: Any) -> Coroutine[Any, Any, T]:  # type: ignore[override]
        """Build one unsaved object."""
        return cls._one("build", enums.BUILD_STRATEGY, kwargs)

    @classmethod
    @markcoroutinefunction
    def stub(cls, **kwargs: Any) -> Coroutine[Any, Any, StubObject]:
        """Build one StubObject holding the declared attributes."""
        return cls._one("stub", enums.STUB_STRATEGY, kwargs)

    @classmethod
    @markcoroutinefunction
    def create_batch(cls, size: int, **kwargs: Any) -> Coroutine[Any, Any, list[T]]:  # type: ignore[override]
        """Create and save ``size`` objects, all in one transaction."""
        return cls._many("create_batch", enums.CREATE_STRATEGY, size, kwargs)

    @classmethod
    @markcoroutinefunction
    def bulk_create_batch(cls, size: int, **kwargs: Any) -> Coroutine[Any, Any, list[T]]:
        """Create ``size`` objects as ``create_batch`` would, inserted with ``bulk_create``."""
        _check_size(cls, "bulk_create_batch", size)
        return cls._run("bulk_create_batch", lambda: bulk_generate(cls, size, kwargs), writes=True, extras=kwargs)

    @classmethod
    @markcoroutinefunction
    def build_batch(cls, size: int, **kwargs: Any) -> Coroutine[Any, Any, list[T]]:  # type: ignore[override]
        """Build ``size`` unsaved objects."""
        return cls._many("build_batch", enums.BUILD_STRATEGY, size, kwargs)

    @classmethod
    @markcoroutinefunction
    def stub_batch(cls, size: int, **kwargs: Any) -> Coroutine[Any, Any, list[StubObject]]:
        """Build ``size`` StubObjects."""
        return cls._many("stub_batch", enums.STUB_STRATEGY, size, kwargs)

    @classmethod
    @markcoroutinefunction
    def generate(cls, strategy: str, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        """``create``, ``build`` or ``stub`` one object, as ``strategy`` says."""
        return getattr(cls, _check_strategy(strategy))(**kwargs)  # type: ignore[no-any-return]

    @classmethod
    @markcoroutinefunction
    def generate_batch(cls, strategy: str, size: int, **kwargs: Any) -> Coroutine[Any, Any, list[Any]]:
        """``create_batch``, ``build_batch`` or ``stub_batch``, as ``strategy`` says."""
        return getattr(cls, f"{_check_strategy(strategy)}_batch")(size, **kwargs)  # type: ignore[no-any-return]

    @classmethod
    @markcoroutinefunction
    def simple_generate(cls, create: bool, **kwargs: Any) -> Coroutine[Any, Any, T]:
        """``create`` one object if ``create`` is true, else ``build`` it."""
        return cls.create(**kwargs) if create else cls.build(**kwargs)

    @classmethod
    @markcoroutinefunction
    def simple_generate_batch(cls, create: bool, size: int, **kwargs: Any) -> Coroutine[Any, Any, list[T]]:
        """``create_batch`` if ``create`` is true, else ``build_batch``."""
        return cls.create_batch(size, **kwargs) if create else cls.build_batch(size, **kwargs)


_GENERATE = vars(AsyncFactory)["_generate"].__func__


def _unknown_field_error(
    factory_class: type[Any], model_class: type[Any], kwargs: dict[str, Any], exc: TypeError
) -> TypeError:
    """Django's "unexpected keyword arguments" TypeError as one that names the factory; else ``exc``."""
    unknown = [name for name in kwargs if not _is_model_attribute(model_class, name)]
    return UnknownFieldError(factory_class.__name__, model_class.__name__, unknown) if unknown else exc


def _is_model_attribute(model_class: type[Any], name: str) -> bool:
    if not hasattr(model_class, "_meta"):
        return True
    try:
        model_class._meta.get_field(name)
    except FieldDoesNotExist:
        return isinstance(getattr(model_class, name, None), property) or any(
            f.attname == name for f in model_class._meta.concrete_fields
        )
    return True


def _check_size(factory_class: type[Any], method: str, size: Any) -> None:
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(
            f"{factory_class.__name__}.{method}(size={size!r}): size must be an int, not {type(size).__name__}. "
            f"Fix: pass the number of objects, e.g. {factory_class.__name__}.{method}(3)."
        )
    if size < 0:
        raise ValueError(f"{factory_class.__name__}.{method}(size={size}): size must be 0 or more.")


def _check_strategy(strategy: str) -> str:
    if strategy not in (enums.STUB_STRATEGY, enums.BUILD_STRATEGY, enums.CREATE_STRATEGY):
        raise errors.UnknownStrategy(
            f"Unknown strategy {strategy!r}; use factory.CREATE_STRATEGY, factory.BUILD_STRATEGY "
            "or factory.STUB_STRATEGY."
        )
    return strategy
