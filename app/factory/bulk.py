"""bulk_create_batch: create_batch's objects, inserted with bulk_create.

``bulk_generate`` runs in the DB thread, inside the transaction of the call (``transactions``), so a
call is all or nothing. For each chunk of ``batch_size`` top-level objects it:

1. builds them with ``BulkStepBuilder``: every declaration is evaluated as ``create_batch``
   would (same order, same sequence numbers, SubFactory parents made first), but a Django model
   object is instantiated unsaved and queued instead of saved, and its post-generation
   declarations wait;
2. inserts the queued objects with ``bulk_create``, level by level: an object's level is one
   more than the highest level of the queued objects its foreign keys (and generic foreign keys)
   point to, so parents go in before children, and each child gets its parents' new primary keys
   on its ``<fk>_id`` before its own insert;
3. runs the post-generation declarations (RelatedFactory, post_generation,
   PostGenerationMethodCall), declaration by declaration across the chunk's objects; objects
   they make (RelatedFactory) are built, inserted and completed the same way before the next
   declaration runs; then ``_after_postgeneration`` for each object.

Objects that ``bulk_create`` would not make as ``create()`` does are created as ``create()``
does, one query each, after inserting the queued objects they refer to: factories with
``Meta.django_get_or_create``, factories that override ``_create``, models whose manager or
queryset overrides ``create()`` or that override ``save()``, and models with receivers of
``pre_save``/``post_save``/``pre_init``/``post_init`` (``orm.custom_create``). Models with
multi-table inheritance, and backends that cannot return primary keys from a bulk insert, raise
``BulkCreateError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from django.db import connections, transaction
from django.db.models import Model
from django.db.models.manager import BaseManager
from factory import enums
from factory.django import DjangoModelFactory

from .builder import BulkStepBuilder, PostGenerationSteps, build_root, note, remember_params
from .calls import check_cancelled, current_call, resolve
from .decisions import Decisions, Reads
from .errors import AbstractFactoryError, BulkCreateError
from .graph import after_postgeneration_is_noop, factories_of_values, factory_graph, nested_model
from .orm import (
    DEFAULT_HOOK_MODULES,
    custom_bulk_create,
    custom_create,
    has_save_receivers,
    is_deadlock,
    model_code,
    owner,
    write_alias,
)
from .plans import call_plan
from .transactions import write_aliases

#: Top-level objects built, inserted and post-generated per round; each round's objects (with
#: their parents and related objects) are the only unsaved state held at a time.
DEFAULT_BATCH_SIZE = 1000


def bulk_generate(
    factory_class: type[DjangoModelFactory[Any]], size: int, params: dict[str, Any], *, batch_size: int | None = None
) -> list[Any]:
    """Build ``size`` objects of ``factory_class`` and insert them with ``bulk_create`` (sync).

    Call it in the DB thread inside a transaction (``AsyncFactory.bulk_create_batch`` does).
    """
    meta = factory_class._meta
    if meta.abstract:
        raise AbstractFactoryError(factory_class.__name__)
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")

    collector = _BulkPlan()
    collector.check_factory(meta)  # a clear error before building anything
    simple = call_plan(factory_class, params)
    objects: list[Any] = []
    call = current_call()
    with ExitStack() as stack:
        for alias in write_aliases(factory_class, params):
            stack.enter_context(connections[alias].execute_wrapper(collector.before_query))
        if call is not None:  # async code of the user's sees the objects made before it too
            call.before_await, previous = collector.flush, call.before_await
            stack.callback(setattr, call, "before_await", previous)
        for start in range(0, size, batch_size):
            collector.deferred = []
            for _ in range(min(batch_size, size - start)):
                if simple is not None:
                    objects.append(simple.make(enums.CREATE_STRATEGY, collector.make_object))
                    continue
                object_params = dict(params)  # the builder pops keys: a fresh dict per object
                remember_params(factory_class, object_params)
                objects.append(build_root(BulkStepBuilder(meta, object_params, enums.CREATE_STRATEGY, collector)))
            collector.complete(collector.deferred)
    return objects


def one_by_one(factory_class: type[Any], params: dict[str, Any]) -> str | None:
    """Why ``create_batch`` must save this call's objects one by one, or None if ``bulk_generate`` may.

    None when nothing observable differs: every factory of the call keeps factory_boy's ``_create``
    and ``_after_postgeneration`` and has no post-generation declaration or ``django_get_or_create``;
    no model overrides ``save()``, uses multi-table inheritance or nests in itself, nor has a manager
    or queryset with its own ``create()``/``bulk_create()`` or, at this moment, save or init signal
    receivers; and every database written to returns the primary keys of a bulk insert. The objects
    are then the same, field for field, with the same sequences, errors and notes (see
    ``_BulkPlan``: what the user's code reads or queries while they are built is inserted first).
    """
    factories = [factory_class]
    for value in params.values():
        phase = enums.get_builder_phase(value)
        if phase == enums.BuilderPhase.POST_INSTANTIATION:
            return f"the call passes a post-generation declaration ({type(value).__name__})"
        if phase is not None:
            factories += factories_of_values([value])
    models: list[type[Model]] = []
    for factory in factories:
        reason, graph_models = _one_by_one(factory, None)
        if reason is not None:
            return reason
        models += graph_models
    for model in models:
        if has_save_receivers(model):
            return f"{model.__name__} has pre_save, post_save, pre_init or post_init receivers"
    for alias in write_aliases(factory_class, params):
        if not connections[alias].features.can_return_rows_from_bulk_insert:
            return f"the database {alias!r} cannot return the primary keys of a bulk insert"
    return None


def _factory_one_by_one(factory_class: type[Any], _: None, reads: Reads) -> tuple[str | None, tuple[type[Model], ...]]:
    """``one_by_one``'s answer for what ``factory_class`` declares, and the models of its graph."""
    if not getattr(factory_class._meta, "bulk_batches", True):
        return f"{factory_class.__name__}.Meta.bulk_batches is False", ()
    if getattr(reads(factory_class, "_generate"), "__module__", None) not in DEFAULT_HOOK_MODULES:
        return f"{factory_class.__name__}._generate", ()
    models = []
    for factory in factory_graph(factory_class).factories:
        if not issubclass(factory, DjangoModelFactory) or factory._meta.abstract:
            continue  # factory.Dict, factory.List: built as usual
        model = factory._meta.get_model_class()
        if not (isinstance(model, type) and issubclass(model, Model)):
            continue
        if factory._meta.post_declarations.declarations:
            listed = ", ".join(factory._meta.post_declarations.declarations)
            return f"{factory.__name__} has post-generation declarations ({listed})", ()
        if not after_postgeneration_is_noop(factory, reads):
            return f"{factory.__name__}._after_postgeneration", ()
        reason = custom_create(factory, model, reads) or custom_bulk_create(factory, model, reads)
        if reason is not None:
            return reason, ()
        if model._meta.parents:
            return f"{model.__name__} uses multi-table inheritance", ()
        models.append(model)
    nested = nested_model(factory_class)
    if nested is not None:
        return f"{nested.__name__} objects nest in each other: their primary keys would come in another order", ()
    return None, tuple(models)


_one_by_one: Decisions[type[Any], None, tuple[str | None, tuple[type[Model], ...]]] = Decisions(_factory_one_by_one)


class _ModelPlan:
    """How one factory's objects are made: queued for ``bulk_create``, or created one by one."""

    __slots__ = (
        "alias",
        "bulk",
        "factory",
        "generic_relations",
        "init",
        "manager",
        "model",
        "named_errors",
        "needs_returned_pk",
        "relations",
    )

    def __init__(self, factory: type[DjangoModelFactory[Any]], model: type[Model]) -> None:
        self.model = model
        # Made as create() makes them when that is more than a plain INSERT: by save(), with signals.
        self.bulk = custom_create(factory, model) is None and not has_save_receivers(model)
        # An __init__ of the user's may read the primary keys of the parents it is given.
        self.init = model_code(model).init
        self.alias = write_alias(factory, model)
        manager = factory._get_manager(model)
        # Pinned to the call's database: bulk_create asks the routers for a manager's database once
        # per object otherwise (QuerySet.db), and a router answers the same for the same model.
        self.manager: Any = manager.db_manager(self.alias) if isinstance(manager, BaseManager) else manager
        # GenericForeignKeys (private fields with an fk_field): set again once their parent is saved.
        self.generic_relations: tuple[Any, ...] = tuple(
            f for f in model._meta.private_fields if f.is_relation and hasattr(f, "fk_field")
        )
        self.needs_returned_pk = not connections[self.alias].features.can_return_rows_from_bulk_insert
        # ForeignKey/OneToOneField: Model.__init__ keeps an assigned parent in the field's cache,
        # and flush copies the parent's new key from there.
        self.relations: tuple[Any, ...] = tuple(f for f in model._meta.concrete_fields if f.many_to_one or f.one_to_one)
        # On a TypeError, factory_boy's or this package's _build, for its error naming unknown
        # fields; a user's _build is for the build strategy, which create() never calls.
        self.named_errors = owner(factory, "_build").__module__ in DEFAULT_HOOK_MODULES
        self.factory = factory
        if self.bulk:
            _check_bulk_insertable(factory, model)


class _BulkPlan:
    """The ``BulkCollector`` of one ``bulk_create_batch`` call: queued objects, deferred steps."""

    def __init__(self) -> None:
        # The queued objects, in parallel lists: no per-object container, so a round adds no
        # garbage for the cyclic GC to walk (a full collection walks every returned object too).
        self.queued: dict[int, int] = {}  # id(instance) -> its position in the lists below
        self._instances: list[Model] = []  # holds the instances, so their ids stay theirs
        self._levels: list[int] = []
        self._model_plans: list[_ModelPlan] = []
        self._generic: dict[int, list[tuple[Any, Model]]] = {}  # position -> GenericForeignKeys to set again
        self.deferred: list[PostGenerationSteps] = []
        self._plans: dict[type[Any], _ModelPlan | None] = {}

    # BulkCollector --------------------------------------------------------------------------

    def handles(self, factory_meta: Any) -> bool:
        return self._plan(factory_meta) is not None

    def instantiate(self, factory_meta: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        plan = self._plan(factory_meta)
        assert plan is not None
        if not plan.bulk:
            # Created now, as create() would: whatever it refers to must be in the database.
            if self.queued and self._refers_to_queued(args, kwargs):
                self.flush()
            return resolve(plan.factory._create(plan.model, *args, **kwargs))

        model = plan.model
        if plan.init and self.queued and self._refers_to_queued(args, kwargs):
            self.flush()
        try:
            instance = model(*args, **kwargs)
        except TypeError:
            if not plan.named_errors:
                raise
            instance = plan.factory._build(model, *args, **kwargs)  # raises, naming the fields
        # The database it is inserted into: a child assigned this parent needs no router for it.
        instance._state.db = plan.alias
        queued, levels = self.queued, self._levels
        position = len(levels)
        level = 0
        if plan.relations:  # Django makes an instance's cache of related objects on first access
            cache = instance._state.fields_cache
            for field in plan.relations:
                related = cache.get(field.cache_name)
                if related is not None:
                    parent = queued.get(id(related))
                    if parent is not None and levels[parent] >= level:
                        level = levels[parent] + 1
        for field in plan.generic_relations:
            if field.is_cached(instance):
                parent = queued.get(id(field.get_cached_value(instance)))
                if parent is not None:
                    self._generic.setdefault(position, []).append((field, self._instances[parent]))
                    level = max(level, levels[parent] + 1)
        if plan.needs_returned_pk and instance.pk is None:
            raise BulkCreateError(
                f"bulk_create_batch needs the primary keys of the rows it inserts, and the "
                f"{connections[plan.alias].vendor} database {plan.alias!r} cannot return them from a bulk insert "
                f"(connection.features.can_return_rows_from_bulk_insert is False), so "
                f"{factory_meta.factory.__name__}'s {plan.model.__name__} objects would have no primary key. "
                f"Fix: use create_batch() on this backend, or give {plan.model.__name__} primary keys before "
                f"insert (e.g. a UUIDField(primary_key=True, default=uuid.uuid4))."
            )
        queued[id(instance)] = position
        self._instances.append(instance)
        levels.append(level)
        self._model_plans.append(plan)
        return instance

    def defer(self, postgen: PostGenerationSteps) -> None:
        self.deferred.append(postgen)

    def reading(self, values: Iterable[Any]) -> None:
        if self.queued and self._refers_to_queued(values, {}):
            self.flush()

    def before_query(self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        """A ``connection.execute_wrapper``: the user's queries see every object made before them, as with create()."""
        if self.queued:
            self.flush()
        return execute(sql, params, many, context)

    def make_object(self, factory_meta: Any, kwargs: dict[str, Any]) -> Any:
        """``instantiate`` for a ``Plan`` (whose factories are all Django model factories)."""
        return self.instantiate(factory_meta, (), kwargs)

    # Inserting and completing -----------------------------------------------------------------

    def check_factory(self, factory_meta: Any) -> None:
        self._plan(factory_meta)

    def flush(self) -> None:
        """Insert every queued object with bulk_create, lowest level (parents) first."""
        if not self.queued:
            return
        instances, levels, plans, generic = self._instances, self._levels, self._model_plans, self._generic
        self.queued, self._instances, self._levels, self._model_plans, self._generic = {}, [], [], [], {}
        groups: dict[tuple[int, type[Model], str], list[int]] = {}
        for position, plan in enumerate(plans):
            groups.setdefault((levels[position], plan.model, plan.alias), []).append(position)
        for key in sorted(groups, key=lambda key: key[0]):  # stable: first-seen order within a level
            group = []
            for position in groups[key]:
                instance = instances[position]
                if key[0]:  # above level 0: it has queued parents, inserted by now
                    _copy_parent_keys(instance, plans[position])
                for field, parent in generic.get(position, ()):
                    # GenericForeignKey.__set__ read the parent's pk when it was still None.
                    setattr(instance, field.name, parent)
                group.append(instance)
            self._insert(plans[groups[key][0]], group, instances, plans)

    def _insert(self, plan: _ModelPlan, group: list[Model], instances: list[Model], plans: list[_ModelPlan]) -> None:
        """``bulk_create(group)``; if it fails, the error creating them one by one gives, noted as create() notes it."""
        if len(group) == 1:  # its error is its own
            try:
                plan.manager.bulk_create(group)
            except Exception as error:
                _note_makers(error, next(i for i, x in enumerate(instances) if x is group[0]), instances, plans)
                raise
            return
        try:
            with transaction.atomic(using=plan.alias):  # a savepoint: the objects can be inserted again
                plan.manager.bulk_create(group)
            return
        except Exception as error:
            if is_deadlock(error) or connections[plan.alias].needs_rollback:
                note(error, plan.factory._meta, f"inserted {len(group)} objects with bulk_create")
                raise
        for instance in group:  # the same INSERT, one object at a time: the first that fails is the culprit
            try:
                plan.manager.bulk_create([instance])
            except Exception as error:
                _note_makers(error, next(i for i, x in enumerate(instances) if x is instance), instances, plans)
                raise

    def complete(self, items: list[PostGenerationSteps]) -> None:
        """Insert what is queued, then run ``items``' post-generation, then their ``_after_postgeneration``.

        Declaration by declaration: when the i-th post-generation declaration of an object runs,
        whatever the earlier ones made (RelatedFactory objects, with their own post-generation)
        is in the database, as with create_batch.
        """
        self.flush()
        stages = max((len(item.names) for item in items), default=0)
        for index in range(stages):
            outer, self.deferred = self.deferred, []
            try:
                for item in items:
                    if index < len(item.names):
                        check_cancelled()  # an object boundary, as between create_batch's objects
                        item.run(index)
                made = self.deferred
            finally:
                self.deferred = outer
            self.complete(made)
        self.flush()
        for item in items:
            check_cancelled()
            item.finish()

    # Helpers ----------------------------------------------------------------------------------

    def _plan(self, factory_meta: Any) -> _ModelPlan | None:
        factory = factory_meta.factory
        try:
            return self._plans[factory]
        except KeyError:
            pass
        plan = None
        if issubclass(factory, DjangoModelFactory):
            model = factory_meta.get_model_class()
            if isinstance(model, type) and issubclass(model, Model):
                plan = _ModelPlan(factory, model)
        self._plans[factory] = plan
        return plan

    def _refers_to_queued(self, args: Iterable[Any], kwargs: dict[str, Any]) -> bool:
        queued = self.queued
        for value in (*args, *kwargs.values()):
            if id(value) in queued:
                return True
            if isinstance(value, (list, tuple, set, frozenset)):
                if any(id(item) in queued for item in value):
                    return True
            elif isinstance(value, dict) and any(id(item) in queued for item in value.values()):
                return True
        return False


def _note_makers(error: BaseException, position: int, instances: list[Model], plans: list[_ModelPlan]) -> None:
    """Note on ``error`` the factory of the object at ``position`` and those it was made for, as create() does."""
    note(error, plans[position].factory._meta, "made its create object")
    seen = {position}
    while True:
        parent = instances[position]
        for child, (instance, plan) in enumerate(zip(instances, plans, strict=True)):
            field = next((f for f in plan.relations if instance._state.fields_cache.get(f.cache_name) is parent), None)
            if field is not None and child not in seen:
                note(error, plan.factory._meta, f"computed {field.name!r}")
                position = child
                seen.add(child)
                break
        else:
            return


def _copy_parent_keys(instance: Model, plan: _ModelPlan) -> None:
    """Give ``instance`` the primary keys of the parents assigned to it before they were inserted.

    What ``bulk_create`` would do for each (``Model._prepare_related_fields_for_save``), without
    assigning each parent again through its descriptor, which asks the routers each time.
    """
    cache = instance._state.fields_cache
    for field in plan.relations:
        parent = cache.get(field.cache_name)
        if parent is not None and getattr(instance, field.attname) is None:
            for local, remote in field.related_fields:
                setattr(instance, local.attname, getattr(parent, remote.attname))
            field.set_cached_value(instance, parent)  # setting the attname dropped it


def _check_bulk_insertable(factory: type[Any], model: type[Model]) -> None:
    opts = model._meta
    # bulk_create's own test (Django 5.2: _meta.all_parents; older: get_parent_list()).
    parents = opts.all_parents if hasattr(opts, "all_parents") else opts.get_parent_list()
    tables = [p for p in parents if p._meta.concrete_model is not opts.concrete_model]
    if tables:
        raise BulkCreateError(
            f"{factory.__name__} makes {opts.label} objects, a multi-table inherited model (its parent "
            f"{tables[0]._meta.label} has its own table), which Django's bulk_create cannot insert. "
            f"Fix: use {factory.__name__}.create_batch() for it."
        )
