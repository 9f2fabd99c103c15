"""The transaction of one factory call: on every database the call writes to, joined by the calls
made inside it, with the files it wrote removed if it rolls back."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

from django.db import OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from factory import enums
from factory.django import DjangoModelFactory

from .bridge import Call, check_cancelled
from .builder import after_postgeneration_is_noop, factories_of_values, factory_graph
from .orm import custom_create, delete_saved_files, has_save_receivers, write_alias

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
    conns = [connections[alias] for alias in write_aliases(factory_class, extras)]
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


def is_deadlock(exc: BaseException) -> bool:
    """Whether ``exc`` is a database breaking a lock cycle: InnoDB's error 1213, PostgreSQL's 40P01."""
    if not isinstance(exc, OperationalError):
        return False
    return exc.args[:1] == (1213,) or getattr(exc.__cause__, "sqlstate", None) == "40P01"


def makes_one_row(factory_class: type[Any], extras: dict[str, Any]) -> bool:
    """Whether ``create(**extras)`` is exactly one plain INSERT: no hook, receiver or override can write."""
    graph = factory_graph(factory_class)
    if len(graph.factories) != 1 or not graph.plain_values:
        return False
    if any(enums.get_builder_phase(value) for value in extras.values()):
        return False
    model = factory_class._meta.get_model_class()
    if not (isinstance(model, type) and issubclass(model, Model)):
        return False
    return (
        not model._meta.parents
        and custom_create(factory_class, model) is None
        and not has_save_receivers(model)
        and after_postgeneration_is_noop(factory_class)
    )


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
