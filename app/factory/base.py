"""AsyncFactory: factory_boy's DjangoModelFactory with an awaitable public API."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from weakref import WeakKeyDictionary

from asgiref.sync import markcoroutinefunction
from django.core.exceptions import FieldDoesNotExist
from django.db.models.signals import post_save, pre_save
from factory import declarations, enums, errors
from factory.base import StubObject
from factory.django import DjangoModelFactory
from factory.faker import Faker
from factory.fuzzy import BaseFuzzyAttribute

from .bridge import awaiting_is_possible, run_in_db_thread
from .builder import build
from .bulk import bulk_generate, custom_create
from .errors import AbstractFactoryError, SyncCallError, UnknownFieldError

T = TypeVar("T")
R = TypeVar("R")


class AsyncFactory(DjangoModelFactory[T], Generic[T]):
    """A DjangoModelFactory whose ``create``/``build``/``stub`` family are awaited.

    Each public call makes one hop to Django's sync ORM thread and runs factory_boy's sync
    machinery there: ``create`` calls run inside one transaction, so a failing call leaves no
    row behind. Declarations, hooks and ``_create`` may be sync or ``async def``.
    """

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # `XFactory(**kwargs)` goes through factory_boy's metaclass to create/build (a
        # coroutine here); mypy ignores metaclass __call__ but honours __new__.
        def __new__(cls, **kwargs: Any) -> Coroutine[Any, Any, T]: ...  # type: ignore[misc]

    @classmethod
    def _generate(cls, strategy: str, params: dict[str, Any]) -> T:
        """Build one object in the current (sync) thread: the hook every public call ends in."""
        if cls._meta.abstract:
            raise AbstractFactoryError(cls.__name__)
        # As DjangoModelFactory._generate: kept for the get_or_create IntegrityError fallback.
        cls._original_params = params
        return cast(T, build(cls._meta, params, strategy))

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
    def _run(cls, method: str, work: Callable[[], R], *, atomic: bool) -> Coroutine[Any, Any, R]:
        if not awaiting_is_possible():
            raise SyncCallError(cls.__name__, method)
        using = cls._meta.database if atomic else None  # type: ignore[attr-defined]
        call = run_in_db_thread(work, atomic_using=using)
        # So that a forgotten await warns "coroutine 'UserFactory.create' was never awaited".
        call.__qualname__ = f"{cls.__name__}.{method}"  # type: ignore[attr-defined]
        return call

    @classmethod
    def _one(cls, method: str, strategy: str, kwargs: dict[str, Any]) -> Coroutine[Any, Any, Any]:
        # A call that can only make one row needs no BEGIN/COMMIT: one INSERT is atomic by itself.
        atomic = strategy == enums.CREATE_STRATEGY and not _makes_one_row(cls, kwargs)
        return cls._run(method, lambda: cls._generate(strategy, kwargs), atomic=atomic)

    @classmethod
    def _many(cls, method: str, strategy: str, size: int, kwargs: dict[str, Any]) -> Coroutine[Any, Any, list[Any]]:
        # A fresh dict per object, as factory_boy's batch methods do (the builder pops keys).
        work = lambda: [cls._generate(strategy, dict(kwargs)) for _ in range(size)]  # noqa: E731
        return cls._run(method, work, atomic=strategy == enums.CREATE_STRATEGY)

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
        return cls._run("bulk_create_batch", lambda: bulk_generate(cls, size, kwargs), atomic=True)

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


# Declarations that compute a value and make no row (unless user code in them writes).
_VALUE_DECLARATIONS = (
    declarations.Sequence,
    declarations.LazyFunction,
    declarations.LazyAttribute,
    declarations.SelfAttribute,
    declarations.Iterator,
    declarations.Transformer,
    Faker,
    BaseFuzzyAttribute,
)
_one_row_factories: WeakKeyDictionary[type[Any], bool] = WeakKeyDictionary()


def _makes_one_row(factory_class: type[AsyncFactory[Any]], kwargs: dict[str, Any]) -> bool:
    """Whether ``create(**kwargs)`` can make exactly one row: one INSERT and nothing else."""
    if any(enums.get_builder_phase(value) for value in kwargs.values()):
        return False
    simple = _one_row_factories.get(factory_class)
    if simple is None:
        simple = _one_row_factories[factory_class] = _is_one_row_factory(factory_class)
    if not simple:
        return False
    model = factory_class._meta.get_model_class()
    return not (pre_save.has_listeners(model) or post_save.has_listeners(model))


def _is_one_row_factory(factory_class: type[AsyncFactory[Any]]) -> bool:
    meta: Any = factory_class._meta
    if meta.abstract:
        return False
    model = meta.get_model_class()
    return (
        not meta.post_declarations.declarations
        and not meta.parameters
        and all(
            isinstance(value, _VALUE_DECLARATIONS) or not enums.get_builder_phase(value)
            for value in meta.pre_declarations.declarations.values()
        )
        and custom_create(factory_class, model) is None
        and factory_class._after_postgeneration.__func__ is DjangoModelFactory._after_postgeneration.__func__  # type: ignore[attr-defined]
        and not model._meta.parents
    )


def _check_strategy(strategy: str) -> str:
    if strategy not in (enums.STUB_STRATEGY, enums.BUILD_STRATEGY, enums.CREATE_STRATEGY):
        raise errors.UnknownStrategy(
            f"Unknown strategy {strategy!r}; use factory.CREATE_STRATEGY, factory.BUILD_STRATEGY "
            "or factory.STUB_STRATEGY."
        )
    return strategy
