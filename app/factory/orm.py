"""What Django does when a factory saves its objects: where rows go, whether ``create()`` is one
plain INSERT, which values are files written to storage."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, router
from django.db.models import FileField, Model, QuerySet
from django.db.models.fields.files import FieldFile
from django.db.models.options import Options
from django.db.models.signals import post_init, post_save, pre_init, pre_save
from factory.django import DjangoModelFactory

from .decisions import Decisions, Reads, is_library_callable
from .errors import UnknownDatabaseError

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
    if database == DEFAULT_DB_ALIAS:
        return router.db_for_write(model)
    if database not in connections.settings:
        raise UnknownDatabaseError(factory.__name__, database, list(connections.settings))
    return database


_BASE_GET_MANAGER = vars(DjangoModelFactory)["_get_manager"].__func__


def is_deadlock(exc: BaseException) -> bool:
    """Whether ``exc`` is a database breaking a lock cycle: InnoDB's error 1213, PostgreSQL's 40P01."""
    if not isinstance(exc, OperationalError):
        return False
    return exc.args[:1] == (1213,) or getattr(exc.__cause__, "sqlstate", None) == "40P01"


def owner(klass: type[Any], name: str) -> type[Any]:
    """The class in ``klass``'s MRO that defines ``name``."""
    return next(base for base in klass.__mro__ if name in vars(base))


def custom_create(factory: type[Any], model: type[Model], reads: Reads | None = None) -> str | None:
    """What makes ``factory``'s objects other than a plain ``manager.create()``, or None.

    Such objects must be made by the factory's ``_create`` (not ``bulk_create``), and may write
    more than one row. Worked out again when a method it read was replaced (``decisions``);
    signal receivers are checked at each call: see ``has_save_receivers``.
    """
    return _custom_creates(factory, model, reads)


def _custom_create(factory: type[Any], model: type[Model], reads: Reads) -> str | None:
    if factory._meta.django_get_or_create:
        return "Meta.django_get_or_create"
    create = reads(factory, "_create")
    if getattr(create, "__module__", None) not in DEFAULT_HOOK_MODULES:
        return f"{factory.__name__}._create"
    reads(factory, "_get_manager")
    return _manager_method(factory._get_manager(model), "create", reads) or save_override(model, reads)


_custom_creates: Decisions[type[Any], type[Model], str | None] = Decisions(_custom_create)


def custom_bulk_create(factory: type[Any], model: type[Model], reads: Reads | None = None) -> str | None:
    """The manager's or queryset's own ``bulk_create()`` that ``factory``'s manager has, if any."""
    reads = Reads() if reads is None else reads
    reads(factory, "_get_manager")
    return _manager_method(factory._get_manager(model), "bulk_create", reads)


def _manager_method(manager: Any, name: str, reads: Reads) -> str | None:
    """``Manager.name`` if ``manager`` or its queryset overrides Django's QuerySet method ``name``; else None."""
    django_method = getattr(QuerySet, name)
    if isinstance(manager, QuerySet):  # Meta.database set: factory_boy's manager.using(database)
        queryset_class: Any = type(manager)
    else:
        method = reads(type(manager), name)
        # Manager methods are generated proxies of QuerySet's (functools.wraps sets __wrapped__).
        if getattr(method, "__wrapped__", method) is not django_method:
            return f"{type(manager).__name__}.{name}"
        # A manager from_queryset()/as_manager() of a custom QuerySet: get_queryset() makes one.
        queryset_class = type(manager.get_queryset())
    if reads(queryset_class, name) is not django_method:
        return f"{queryset_class.__name__}.{name}"
    return None


#: The methods a model's save() inserts a row through.
_SAVE_METHODS = ("save", "save_base", "_save_table", "_do_insert")


def save_override(model: type[Model], reads: Reads | None = None) -> str | None:
    """The model's method that replaces Django's on the way from ``save()`` to the INSERT, if any."""
    return _save_overrides(model, None, reads)


def _save_override(model: type[Model], _: None, reads: Reads) -> str | None:
    for name in _SAVE_METHODS:
        if reads(model, name) is not getattr(Model, name):
            return f"{owner(model, name).__name__}.{name}"
    return None


_save_overrides: Decisions[type[Model], None, str | None] = Decisions(_save_override)


class ModelCode(NamedTuple):
    """Code of the user's that making a model object runs, besides ``save()`` (see ``save_override``)."""

    reason: str | None  # an overridden __init__, or a field class of the user's
    init: bool  # the model overrides __init__
    defaults: frozenset[tuple[str, str]]  # (name, attname) of fields whose default is a callable of the user's


def model_code(model: type[Model], reads: Reads | None = None) -> ModelCode:
    """What of the user's code ``model(**kwargs)`` and its INSERT may run: it may query the database."""
    return _model_codes(model, None, reads)


def _model_code(model: type[Model], _: None, reads: Reads) -> ModelCode:
    reason = None
    init = reads(model, "__init__") is not Model.__init__
    if init:
        reason = f"{owner(model, '__init__').__name__}.__init__"
    defaults = []
    for field in model._meta.concrete_fields:
        if reason is None and not is_library_callable(type(field)):
            reason = f"{model.__name__}.{field.name} ({type(field).__name__})"
        default = reads(field, "default")
        if callable(default) and not is_library_callable(default):
            defaults.append((field.name, field.attname))
    return ModelCode(reason, init, frozenset(defaults))


_model_codes: Decisions[type[Model], None, ModelCode] = Decisions(_model_code)


def has_save_receivers(model: type[Model]) -> bool:
    """Whether receivers of ``pre_init``, ``post_init``, ``pre_save`` or ``post_save`` listen to ``model`` now."""
    return any(signal.has_listeners(model) for signal in _SAVE_SIGNALS)


@cache
def file_fields(model: Any) -> tuple[FileField, ...]:
    """``model``'s FileField and ImageField fields (none for a class that is not a Django model)."""
    meta = getattr(model, "_meta", None)
    return tuple(f for f in meta.concrete_fields if isinstance(f, FileField)) if isinstance(meta, Options) else ()


def own_unsaved_files(model: Any, kwargs: dict[str, Any]) -> list[FieldFile]:
    """The files that saving an object made from ``kwargs`` will write to storage, each as a FieldFile of ours.

    A ``File`` value is replaced in ``kwargs`` by a FieldFile that wraps it, which the model then
    keeps and its save writes (Django's FileDescriptor keeps a FieldFile it is given): once saved,
    it holds the name the storage gave the file, whatever the object's field is set to later.
    """
    owned: list[FieldFile] = []
    for field in file_fields(model):
        value = kwargs.get(field.name)
        if isinstance(value, FieldFile):
            if not value._committed:  # type: ignore[attr-defined]
                owned.append(value)
        elif isinstance(value, File):
            # What FileDescriptor makes of a File, with the instance set when the model takes it.
            field_file = field.attr_class(None, field, value.name)  # type: ignore[arg-type]
            field_file.file = value
            field_file._committed = False  # type: ignore[attr-defined]
            kwargs[field.name] = field_file
            owned.append(field_file)
    return owned


def delete_saved_files(files: list[FieldFile]) -> None:
    """Delete from storage the files that saving these FieldFiles wrote."""
    for field_file in files:
        # FieldFile._committed: True once the file is in storage (Django's own flag for pre_save).
        if field_file._committed and field_file.name:  # type: ignore[attr-defined]
            field_file.storage.delete(field_file.name)
