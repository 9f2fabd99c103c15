"""Plans: simple factories made without factory_boy's per-object machinery (a Resolver per object).

Reads factory_boy's declarations (``evaluate``, ``_defaults``, ``function``, ``provider``) and
``FactoryOptions.instantiate``; checked against factory_boy 3.3.x, like ``builder``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model
from factory import base as factory_base
from factory import declarations, enums
from factory import django as factory_django
from factory.base import FactoryOptions
from factory.faker import Faker
from factory.fuzzy import BaseFuzzyAttribute

from .builder import instantiated, note
from .calls import check_cancelled, resolve
from .decisions import Decisions, Reads
from .errors import IteratorExhaustedError
from .graph import after_postgeneration_is_noop, evaluates_as_declared, plain_arguments

_CONSTANT, _SEQUENCE, _EVALUATE, _FAKER, _SUBFACTORY = range(5)

#: Declarations a plan evaluates itself, with the ``evaluate`` each must keep (one that reads
#: neither the resolver nor the step): a subclass overriding it goes through the builder.
_EVALUATED: dict[type[Any], Callable[..., Any]] = {
    declarations.LazyFunction: declarations.LazyFunction.evaluate,
    declarations.Iterator: declarations.Iterator.evaluate,
    Faker: Faker.evaluate,
    BaseFuzzyAttribute: BaseFuzzyAttribute.evaluate,
}


class _FakerValue:
    """What ``Faker.evaluate`` gives for one ``factory.Faker`` declaration (factory_boy 3.3.x).

    ``evaluate`` is ``_get_faker(locale).format(provider, **extra)``. The proxy that ``_get_faker``
    returns forwards ``format`` to its one generator through ``__getattr__``, at a cost per object
    close to the rest of a plan's work: the bound ``format`` is kept per proxy. ``_get_faker`` is
    still asked each time (``override_default_locale`` changes its answer), and so is the generator
    for the provider (``add_provider`` may replace it).
    """

    __slots__ = ("bound", "extra", "get_faker", "locale", "provider")

    def __init__(self, declaration: Faker) -> None:
        self.extra = dict(declaration._defaults)
        self.locale = self.extra.pop("locale")
        self.provider: str = declaration.provider
        self.get_faker = declaration._get_faker  # the plan that holds it is made again if it is replaced
        self.bound: tuple[Any, Callable[..., Any]] | None = None  # (proxy, proxy.format), set together

    def __call__(self) -> Any:
        proxy = self.get_faker(self.locale)
        bound = self.bound
        if bound is None or bound[0] is not proxy:
            bound = self.bound = (proxy, proxy.format)
        return bound[1](self.provider, **self.extra)


class Plan:
    """How to make the objects of a simple factory, worked out once from its declarations.

    A simple factory declares only values, ``Sequence``, ``LazyFunction``, ``Iterator``,
    ``Faker``, fuzzy attributes and ``SubFactory`` to simple factories with nothing passed down;
    it has no ``Params``, ``exclude``, ``rename``, ``inline_args``, ``django_get_or_create`` or
    post-generation, and factory_boy's own ``_adjust_kwargs`` and ``_after_postgeneration``.
    ``make`` gives what ``AsyncStepBuilder.build`` gives (the same values, sequence numbers,
    order of evaluation, errors and notes; ``_build``/``_create`` called as overridden) without
    a DeclarationSet, BuildStep and Resolver per object.
    """

    __slots__ = ("factory_meta", "steps")

    def __init__(self, factory_meta: Any, steps: list[tuple[str, int, Any]]) -> None:
        self.factory_meta = factory_meta
        self.steps = steps

    def with_values(self, values: dict[str, Any]) -> Plan | None:
        """This plan with call arguments that are plain values (``name="x"``), or None if any is not."""
        if not values:
            return self
        steps = {name: (name, kind, value) for name, kind, value in self.steps}
        for name, value in values.items():
            if enums.SPLITTER in name or enums.get_builder_phase(value) is not None:
                return None  # a declaration, or a value for a sub-factory: the builder parses it
            steps[name] = (name, _CONSTANT, value)
        return Plan(self.factory_meta, list(steps.values()))

    def make(self, strategy: str, make_object: Callable[[FactoryOptions, dict[str, Any]], Any]) -> Any:
        """One object: its values in declaration order, then ``make_object(factory_meta, kwargs)``."""
        check_cancelled()  # an object boundary
        meta = self.factory_meta
        sequence = meta.next_sequence()
        kwargs: dict[str, Any] = {}
        for name, kind, value in self.steps:
            if kind == _CONSTANT:
                if value is not declarations.SKIP:
                    kwargs[name] = value
                continue
            try:
                if kind == _SEQUENCE:
                    result = value(int(sequence))  # as Sequence.evaluate
                elif kind == _FAKER:
                    result = value()
                elif kind == _EVALUATE:
                    evaluate, defaults = value
                    # What evaluate_pre gives without call-time context: the declared context,
                    # copied (Faker pops from it), which holds no declaration to unroll.
                    result = evaluate(None, None, dict(defaults))
                else:
                    result = value.make(strategy, make_object)
                result = resolve(result)
            except StopIteration as exc:
                raise IteratorExhaustedError(meta.factory.__name__, name) from exc
            except Exception as exc:
                note(exc, meta, f"computed {name!r}")
                raise
            if result is not declarations.SKIP:
                kwargs[name] = result
        return instantiated(meta, strategy, kwargs, make_object, meta, kwargs)


def _build_object(factory_meta: Any, kwargs: dict[str, Any]) -> Any:
    return resolve(factory_meta.factory._build(factory_meta.get_model_class(), **kwargs))


def _create_object(factory_meta: Any, kwargs: dict[str, Any]) -> Any:
    return resolve(factory_meta.factory._create(factory_meta.get_model_class(), **kwargs))


#: What ``FactoryOptions.instantiate`` does for each strategy a plan makes objects for.
MAKE_OBJECT: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    enums.BUILD_STRATEGY: _build_object,
    enums.CREATE_STRATEGY: _create_object,
}


def simple_plan(factory_class: type[Any]) -> Plan | None:
    """The plan of ``factory_class``, or None if it is not simple (see ``Plan``).

    Worked out again when a hook or method it read was replaced since (``decisions``).
    """
    return _plans(factory_class, None)


def call_plan(factory_class: type[Any], params: dict[str, Any]) -> Plan | None:
    """The plan of a call of ``factory_class`` with ``params``, or None if the builder must make it."""
    plan = simple_plan(factory_class)
    return None if plan is None else plan.with_values(params)


def _compile(factory_class: type[Any], outer: tuple[type[Any], ...], reads: Reads) -> Plan | None:
    if factory_class in outer or not issubclass(factory_class, factory_django.DjangoModelFactory):
        return None  # a SubFactory cycle (the builder reports it), or not a Django model factory
    meta: Any = factory_class._meta
    if (
        meta.abstract
        or meta.django_get_or_create
        or meta.post_declarations.declarations
        or not plain_arguments(meta, reads)
        or not after_postgeneration_is_noop(factory_class, reads)
    ):
        return None
    if reads(type(meta), "instantiate") is not factory_base.FactoryOptions.instantiate:
        return None
    model = meta.get_model_class()
    if not (isinstance(model, type) and issubclass(model, Model)):
        return None
    steps: list[tuple[str, int, Any]] = []
    pre = meta.pre_declarations
    for name, value in pre.declarations.items():
        if pre.contexts[name]:
            return None  # e.g. ``user__name = "x"`` in the class
        step = _step(factory_class, name, value, outer, reads)
        if step is None:
            return None
        steps.append(step)
    return Plan(meta, steps)


_plans: Decisions[type[Any], None, Plan | None] = Decisions(
    lambda factory_class, _, reads: _compile(factory_class, (), reads)
)


def _step(
    factory_class: type[Any], name: str, value: Any, outer: tuple[type[Any], ...], reads: Reads
) -> tuple[str, int, Any] | None:
    kind = type(value)
    if enums.get_builder_phase(value) is None:
        return name, _CONSTANT, value
    if not evaluates_as_declared(value, reads):
        return None
    defaults: dict[str, Any] = value._defaults
    evaluate = reads(kind, "evaluate")
    if isinstance(value, declarations.Sequence) and evaluate is declarations.Sequence.evaluate:
        return name, _SEQUENCE, value.function
    for base, declared in _EVALUATED.items():
        if issubclass(kind, base) and evaluate is declared:
            if any(enums.get_builder_phase(v) is not None for v in defaults.values()):
                return None  # unrolled through a DictFactory by the builder
            if base is Faker:
                reads(value, "_get_faker")
                return name, _FAKER, _FakerValue(value)
            return name, _EVALUATE, (value.evaluate, defaults)
    if kind is declarations.SubFactory and not defaults:
        try:
            target = value.get_factory()
        except (ImportError, AttributeError):
            return None  # the builder reports it, naming the factory
        child = _compile(target, (*outer, factory_class), reads)
        return None if child is None else (name, _SUBFACTORY, child)
    return None
