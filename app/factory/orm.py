"""What Django does when a factory saves its objects: where rows go, whether ``create()`` is one
plain INSERT, which values are files written to storage."""

from __future__ import annotations

from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import FileField, Model, QuerySet
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_init, post_save, pre_init, pre_save
from factory.django import DjangoModelFactory

# Classes whose _create is factory_boy's or this package's own: not a user override.
DEFAULT_HOOK_MODULES = frozenset({"factory.base", "factory.django", f"{__name__.rpartition('.')[0]}.base"})

_SAVE_SIGNALS = (pre_init, post_init, pre_save, post_save)


def write_alias(factory: type[Any], model: type[Model]) -> str:
    """The database ``factory.create()`` writes ``model`` rows to: where ``factory._get_manager`` sends them.

    That is ``Meta.database``, else the router's, unless ``_get_manager`` is overridden: then the
    database its manager names (``db_manager()``/``using()``, which Django keeps as ``_db``), else the router's.
    """
    if getattr(factory._get_manager, "__func__", None) is not _BASE_GET_MANAGER:
        named: str | None = getattr(factory._get_manager(model), "_db", None)
        return named or router.db_for_write(model)
    database: str = factory._meta.database
    return database if database != DEFAULT_DB_ALIAS else router.db_for_write(model)


_BASE_GET_MANAGER = vars(DjangoModelFactory)["_get_manager"].__func__


def owner(klass: type[Any], name: str) -> type[Any]:
    """The class in ``klass``'s MRO that defines ``name``."""
    return next(base for base in klass.__mro__ if name in vars(base))


def custom_create(factory: type[Any], model: type[Model]) -> str | None:
    """What makes ``factory``'s objects other than a plain ``manager.create()``, or None.

    Such objects must be made by the factory's ``_create`` (not ``bulk_create``), and may write
    more than one row. Signal receivers are dynamic: see ``has_save_receivers``.
    """
    known = _custom_creates.get(factory)
    if known is not None and known[0] is model:
        return known[1]
    reason = _custom_create(factory, model)
    _custom_creates[factory] = (model, reason)
    return reason


_custom_creates: WeakKeyDictionary[type[Any], tuple[type[Model], str | None]] = WeakKeyDictionary()


def _custom_create(factory: type[Any], model: type[Model]) -> str | None:
    if factory._meta.django_get_or_create:
        return "Meta.django_get_or_create"
    create_owner = owner(factory, "_create")
    if create_owner.__module__ not in DEFAULT_HOOK_MODULES:
        return f"{create_owner.__name__}._create"
    return _model_create(factory._get_manager(model), model)


def _model_create(manager: Any, model: type[Model]) -> str | None:
    if isinstance(manager, QuerySet):  # Meta.database set: factory_boy's manager.using(database)
        queryset = manager
    else:
        create = getattr(type(manager), "create", None)
        # Manager.create is a generated proxy of QuerySet.create (functools.wraps sets __wrapped__).
        if getattr(create, "__wrapped__", create) is not QuerySet.create:
            return f"{type(manager).__name__}.create"
        queryset = manager.get_queryset()  # a manager from_queryset()/as_manager() of a custom QuerySet
    if type(queryset).create is not QuerySet.create:
        return f"{type(queryset).__name__}.create"
    return _save_override(model)


@cache
def _save_override(model: type[Model]) -> str | None:
    for name in ("save", "save_base"):
        if getattr(model, name) is not getattr(Model, name):
            return f"{owner(model, name).__name__}.{name}"
    return None


def has_save_receivers(model: type[Model]) -> bool:
    """Whether receivers of ``pre_init``, ``post_init``, ``pre_save`` or ``post_save`` listen to ``model`` now."""
    return any(signal.has_listeners(model) for signal in _SAVE_SIGNALS)


@cache
def file_fields(model: type[Model]) -> tuple[str, ...]:
    """The names of ``model``'s FileField and ImageField fields."""
    return tuple(f.name for f in model._meta.concrete_fields if isinstance(f, FileField))


def unsaved_files(model: type[Model], kwargs: dict[str, Any]) -> list[str]:
    """The file fields of ``kwargs`` that saving the object will write to storage."""
    fields = file_fields(model)
    if not fields:
        return []
    return [
        name
        for name in fields
        if isinstance(value := kwargs.get(name), File) and not (isinstance(value, FieldFile) and value._committed)  # type: ignore[attr-defined]
    ]


def delete_saved_files(files: list[tuple[Any, str]]) -> None:
    """Delete from storage the files of ``(instance, field name)`` that a save wrote."""
    for instance, name in files:
        field_file = getattr(instance, name)
        # FieldFile._committed: True once the file is in storage (Django's own flag for pre_save).
        if field_file and field_file._committed:
            field_file.storage.delete(field_file.name)
