"""What a call of a factory can make and run: the factories it reaches, and which of their parts
are the user's code (hooks, declarations). Reads factory_boy's options, declarations and hooks
(checked against factory_boy 3.3.x, like ``builder``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from factory import base as factory_base
from factory import declarations, enums
from factory import django as factory_django
from factory.faker import Faker
from factory.fuzzy import BaseFuzzyAttribute, FuzzyAttribute, FuzzyChoice

from .decisions import Reads, function_of, is_library_callable

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


class FactoryGraph(NamedTuple):
    """The factories a call of one factory can use, and whether it only computes values."""

    factories: tuple[type[Any], ...]  # the factory itself first, then SubFactory/RelatedFactory targets
    plain_values: bool  # no post-generation, no parameters, only value declarations


_graphs: WeakKeyDictionary[type[Any], FactoryGraph] = WeakKeyDictionary()


def factory_graph(factory_class: type[Any]) -> FactoryGraph:
    """The factories reachable from ``factory_class``'s declarations, traits and Maybe branches."""
    graph = _graphs.get(factory_class)
    if graph is None:
        meta = factory_class._meta
        seen: dict[type[Any], None] = {}
        complete = _walk(factory_class, seen)
        plain = (
            not meta.post_declarations.declarations
            and not meta.parameters
            and all(
                isinstance(value, _VALUE_DECLARATIONS) or not enums.get_builder_phase(value)
                for value in meta.pre_declarations.declarations.values()
            )
        )
        graph = FactoryGraph(tuple(seen), plain)
        if complete:  # else a SubFactory path did not resolve: the build reports it, naming the factory
            _graphs[factory_class] = graph
    return graph


def is_library_value(value: Any, reads: Reads) -> bool:
    """Whether computing declaration ``value`` runs no code of the user's, which could query the database.

    True for plain values, ``Faker``, factory_boy's fuzzy attributes over a fixed sequence,
    and ``LazyFunction``/``Transformer`` (``Password``) around a library function
    (``timezone.now``, ``uuid.uuid4``, ``make_password``); ``Sequence``, ``LazyAttribute``,
    ``SelfAttribute``, ``Iterator`` and the user's own declarations are the user's code.
    """
    if enums.get_builder_phase(value) is None:
        return True
    kind = type(value)
    if isinstance(value, declarations.Transformer):
        return (
            kind.__module__ in ("factory.declarations", "factory.django")
            and reads(kind, "evaluate_pre") is declarations.Transformer.evaluate_pre
            and enums.get_builder_phase(value.default) is None
            and is_library_callable(value.transform)
        )
    if not evaluates_as_declared(value, reads):
        return False
    if isinstance(value, Faker):
        return reads(kind, "evaluate") is Faker.evaluate and reads(value, "_get_faker") is _FAKER_GET_FAKER
    if isinstance(value, BaseFuzzyAttribute):
        fixed_choices = not isinstance(value, FuzzyChoice) or (
            isinstance(value.choices_generator, (list, tuple, range, str)) and value.getter is None
        )
        fuzz = reads(kind, "fuzz")
        return (
            kind.__module__ == getattr(fuzz, "__module__", None) == "factory.fuzzy"
            and kind is not FuzzyAttribute
            and fixed_choices
        )
    if kind is declarations.LazyFunction:
        return reads(kind, "evaluate") is declarations.LazyFunction.evaluate and is_library_callable(value.function)
    return False


_FAKER_GET_FAKER = vars(Faker)["_get_faker"].__func__


def factories_of_values(values: Iterable[Any]) -> list[type[Any]]:
    """The factories reachable from declarations passed as call arguments."""
    seen: dict[type[Any], None] = {}
    for value in values:
        _walk_value(value, seen)
    return list(seen)


def nested_model(factory_class: type[Any]) -> Any:
    """A model whose objects a ``SubFactory`` path of ``factory_class`` makes inside objects of the same model
    (a manager that is a Person, a category's parent category), or None."""
    return _nested_model(factory_class, ())


def _nested_model(factory_class: type[Any], outer: tuple[Any, ...]) -> Any:
    meta = getattr(factory_class, "_meta", None)
    model = getattr(meta, "model", None)
    concrete = getattr(getattr(model, "_meta", None), "concrete_model", None)
    if concrete is not None and concrete in outer:
        return concrete
    if factory_class in outer or meta is None:
        return None  # a cycle of factories: the builder reports it
    inner = (*outer, factory_class, concrete)
    pre = meta.pre_declarations
    values = [*pre.declarations.values(), *(value for context in pre.contexts.values() for value in context.values())]
    while values:
        value = values.pop()
        if isinstance(value, declarations.Maybe):
            values += [value.yes, value.no]
        elif isinstance(value, declarations.SubFactory):
            try:
                target = value.get_factory()
            except (ImportError, AttributeError):
                continue
            found = _nested_model(target, inner)
            if found is not None:
                return found
    return None


def _walk(factory_class: type[Any], seen: dict[type[Any], None]) -> bool:
    """Add the factories reachable from ``factory_class`` to ``seen``; False if a path did not resolve."""
    if factory_class in seen or not hasattr(factory_class, "_meta"):
        return True
    seen[factory_class] = None
    meta = factory_class._meta
    complete = True
    for declaration_set in (meta.pre_declarations, meta.post_declarations):
        for value in declaration_set.declarations.values():
            complete &= _walk_value(value, seen)
        for context in declaration_set.contexts.values():
            for value in context.values():
                complete &= _walk_value(value, seen)
    return complete


def _walk_value(value: Any, seen: dict[type[Any], None]) -> bool:
    if isinstance(value, (declarations.SubFactory, declarations.RelatedFactory)):
        try:
            target = value.get_factory()
        except (ImportError, AttributeError):
            return False
        return _walk(target, seen)
    if isinstance(value, declarations.Maybe):
        return _walk_value(value.yes, seen) & _walk_value(value.no, seen)
    return True


def evaluates_as_declared(value: Any, reads: Reads) -> bool:
    """Whether ``value.evaluate_pre`` is factory_boy's: unroll the declared context, then ``evaluate``."""
    kind = type(value)
    return (
        reads(kind, "evaluate_pre") is declarations.BaseDeclaration.evaluate_pre
        and reads(kind, "unroll_context") is declarations.BaseDeclaration.unroll_context
    )


def plain_arguments(meta: Any, reads: Reads | None = None) -> bool:
    """Whether ``meta.prepare_arguments`` only drops SKIP values (no exclude, Params, rename, inline_args, hook)."""
    plain = _plain_meta.get(meta)
    if plain is None:  # what the class declared: fixed once it is defined
        plain = _plain_meta[meta] = (
            not meta.exclude and not meta.parameters and not meta.rename and not meta.inline_args
        )
    return plain and not adjusts_kwargs(meta.factory, reads)


def adjusts_kwargs(factory: Any, reads: Reads | None = None) -> bool:
    """Whether ``factory`` has an ``_adjust_kwargs`` of the user's (factory_boy's returns the arguments as they are)."""
    hook = reads(factory, "_adjust_kwargs") if reads is not None else function_of(factory._adjust_kwargs)
    return hook is not _BASE_ADJUST_KWARGS


_plain_meta: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()
_BASE_ADJUST_KWARGS = vars(factory_base.BaseFactory)["_adjust_kwargs"].__func__


def after_postgeneration_is_noop(factory: Any, reads: Reads | None = None) -> bool:
    """Whether ``factory._after_postgeneration(instance, create, results={})`` does nothing.

    True for factory_boy's own hooks (DjangoModelFactory's saves only when ``results`` is not
    empty): then an object without post-generation declarations needs no post-generation step.
    """
    hook = reads(factory, "_after_postgeneration") if reads is not None else function_of(factory._after_postgeneration)
    return hook is _DJANGO_AFTER_POSTGENERATION or hook is _BASE_AFTER_POSTGENERATION


_DJANGO_AFTER_POSTGENERATION = vars(factory_django.DjangoModelFactory)["_after_postgeneration"].__func__
_BASE_AFTER_POSTGENERATION = vars(factory_base.BaseFactory)["_after_postgeneration"].__func__
