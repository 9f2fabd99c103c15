"""The transaction of one factory call: on every database the call writes to, joined by the calls
made inside it, with the files it wrote removed if it rolls back."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from factory import enums
from factory.django import DjangoModelFactory

from .calls import Call, check_cancelled
from .decisions import Decisions, Reads
from .graph import (
    after_postgeneration_is_noop,
    factories_of_values,
    factory_graph,
    is_library_value,
    plain_arguments,
)
from .orm import custom_create, delete_saved_files, has_save_receivers, is_deadlock, model_code, write_alias

R = TypeVar("R")


def write_aliases(factory_class: type[Any], extras: dict[str, Any]) -> list[str]:
    """The databases a call of ``factory_class`` with ``extras`` writes to: where each model of its graph goes."""
    factories = factory_graph(factory_class).factories
    declared = [value for value in extras.values() if enums.get_builder_phase(value)]
    if declared:
        factories += tuple(factories_of_values(declared))
    aliases: dict[str, None] = {}
    for factory in factories:
        if issubclass(factory, DjangoModelFactory) and not factory._meta.abstract:
            model = factory._meta.get_model_class()
            if isinstance(model, type) and issubclass(model, Model):
                aliases[write_alias(factory, model)] = None
    return list(aliases) or [factory_class._meta.database]


def run_in_transaction(
    call: Call, factory_class: type[Any], extras: dict[str, Any], work: Callable[[], R], *, one_object: bool
) -> R:
    """Run ``work()`` (in the ORM thread) so that everything it writes is committed, or nothing.

    A call made inside another (from an async hook) runs in a savepoint of the outer call's
    transaction, which it extends to any database the outer call did not open. ``one_object``:
    ``work`` makes one object of ``factory_class`` (``create()``), which may need no transaction.
    """
    try:
        result = _in_transaction(call, factory_class, extras, work, one_object)
    except BaseException as exc:
        delete_saved_files(call.files)
        if call.parent is None and is_deadlock(exc):
            exc.add_note(
                f"({factory_class.__name__}: the database rolled this call back to break a deadlock with "
                "another connection; nothing of it was saved. Fix: retry the call.)"
            )
        raise
    if call.parent is not None:
        call.parent.files.extend(call.files)
    return result


def _in_transaction(
    call: Call, factory_class: type[Any], extras: dict[str, Any], work: Callable[[], R], one_object: bool
) -> R:
    conns = [connections[alias] for alias in call.aliases or write_aliases(factory_class, extras)]
    outer = call.parent
    while outer is not None and outer.transaction is None:
        outer = outer.parent
    if outer is None:
        for conn in conns:
            _refresh(conn)
        if one_object and len(conns) == 1 and _autocommits(conns[0]) and makes_one_row(factory_class, extras):
            # One INSERT is atomic by itself: no BEGIN/COMMIT around it.
            return work()
    with ExitStack() as stack:
        call.transaction = stack
        try:
            for conn in conns:
                if outer is not None and not conn.in_atomic_block:
                    outer.transaction.enter_context(transaction.atomic(using=conn.alias))  # type: ignore[union-attr]
                stack.enter_context(transaction.atomic(using=conn.alias))
            result = work()
            check_cancelled()  # the last object boundary: a call cancelled by now rolls back
        finally:
            call.transaction = None
    return result


def makes_one_row(factory_class: type[Any], extras: dict[str, Any]) -> bool:
    """Whether ``create(**extras)`` touches the database with its one INSERT and nothing else.

    Then it needs no transaction. Code of the user's that runs on the way (a ``LazyFunction`` of
    theirs, a field default, a ``save()`` override, a signal receiver...) may write rows of its own,
    which only a transaction takes back if the INSERT fails.
    """
    if any(enums.get_builder_phase(value) for value in extras.values()):
        return False
    model = factory_class._meta.get_model_class()
    unset_defaults = _one_row(factory_class, model)
    if unset_defaults is None or has_save_receivers(model):
        return False
    # A field default of the user's runs when neither the factory nor the call gives the field a value.
    return all(name in extras or attname in extras for name, attname in unset_defaults)


def _plain_insert(factory_class: type[Any], model: Any, reads: Reads) -> frozenset[tuple[str, str]] | None:
    """None if making an object of ``factory_class`` runs the user's code; else the fields whose default
    is a callable of the user's and which the factory leaves to the call (``(name, attname)``)."""
    graph = factory_graph(factory_class)
    meta = factory_class._meta
    if (
        len(graph.factories) != 1
        or not graph.plain_values
        or not (isinstance(model, type) and issubclass(model, Model))
        or model._meta.parents
        or not all(is_library_value(value, reads) for value in meta.pre_declarations.declarations.values())
        or not plain_arguments(meta, reads)
        or not after_postgeneration_is_noop(factory_class, reads)
        or custom_create(factory_class, model, reads) is not None
    ):
        return None
    code = model_code(model, reads)
    if code.reason is not None:
        return None
    declared = meta.pre_declarations.declarations
    return frozenset(names for names in code.defaults if not declared.keys() & set(names))


_one_row: Decisions[type[Any], Any, frozenset[tuple[str, str]] | None] = Decisions(_plain_insert)


def _autocommits(conn: BaseDatabaseWrapper) -> bool:
    return not conn.in_atomic_block and conn.get_autocommit()


def _refresh(conn: BaseDatabaseWrapper) -> None:
    """Before a call outside any transaction: replace a broken connection, as Django does between requests.

    A connection that had an error since its last commit is checked and closed if unusable (the
    next query reconnects). With ``CONN_HEALTH_CHECKS`` it is also checked before the call's first
    query, so a connection the server dropped while idle is replaced before it fails.
    """
    if conn.connection is None or conn.in_atomic_block:
        return
    conn.health_check_done = False  # type: ignore[attr-defined]
    if conn.errors_occurred:
        if conn.is_usable():
            conn.errors_occurred = False
        else:
            conn.close()
