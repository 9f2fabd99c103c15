"""factory_boy's internals, in one place: the builder that awaits async declarations and hooks,
plans for simple factories, the bulk builder, and options for a ``Meta.model`` resolved at each use.

This is the only module that touches private factory_boy details: ``StepBuilder``,
``BuildStep``, ``Resolver`` and its name-mangled ``__values`` and ``__step``, ``parse_declarations``,
``DeclarationSet``, the declarations' ``evaluate``/``evaluate_pre``/``unroll_context`` and
``_defaults``, ``FactoryOptions.instantiate``/``prepare_arguments`` and the options hooks
``get_model_class``, ``contribute_to_class`` and ``_get_counter_reference``. It was checked against
factory_boy 3.3.x (``requirements.txt`` pins ``factory_boy>=3.3.3,<3.4``).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol
from weakref import WeakKeyDictionary

from django.db.models import Model
from factory import base as factory_base
from factory import builder, declarations, enums
from factory import django as factory_django
from factory.base import FactoryOptions
from factory.faker import Faker
from factory.fuzzy import BaseFuzzyAttribute, FuzzyAttribute, FuzzyChoice

from .bridge import check_cancelled, current_call, resolve
from .decisions import Decisions, Reads, function_of, is_library_callable
from .errors import FactoryCycleError, IteratorExhaustedError, LateAttributeError
from .orm import own_unsaved_files


class AsyncResolver(builder.Resolver):
    """A Resolver that awaits values returned as awaitables (async LazyFunction/LazyAttribute)."""

    def __getattr__(self, name: str) -> Any:
        values = self._Resolver__values
        if name in values:
            return values[name]
        factory_meta = self._Resolver__step.builder.factory_meta
        if asyncio._get_running_loop() is not None:  # in asyncio.events.__all__: no exception when none
            # An async LazyAttribute runs on the event loop, where the sync ORM and the builder
            # cannot run: it can only read what is already computed.
            raise LateAttributeError(factory_meta.factory.__name__, name)
        try:
            value = resolve(super().__getattr__(name))
        except StopIteration as exc:
            raise IteratorExhaustedError(factory_meta.factory.__name__, name) from exc
        except RecursionError as exc:
            # Each level of a SubFactory cycle passes here: record the path instead of a note each.
            _path(exc).append((factory_meta.factory.__name__, name))
            raise
        except Exception as exc:
            note(exc, factory_meta, f"computed {name!r}")
            raise
        # Cache the awaited result where Resolver caches values, so that declarations reading
        # this one see the result, and a coroutine is awaited once.
        values[name] = value
        return value


class AsyncBuildStep(builder.BuildStep):
    def resolve(self, declarations: builder.DeclarationSet) -> None:
        self.stub = self.builder.resolver_class(declarations=declarations, step=self, sequence=self.sequence)
        for field_name in declarations:
            self.attributes[field_name] = getattr(self.stub, field_name)


class AsyncStepBuilder(builder.StepBuilder):
    """StepBuilder whose steps await async results; sub-factories inherit it via ``recurse``.

    ``build`` is factory_boy 3.3.3's ``StepBuilder.build`` in three parts (``resolve_step``,
    ``instantiate``, ``PostGenerationSteps``), each user result passed through ``resolve``.
    """

    resolver_class: type[AsyncResolver] = AsyncResolver
    step_class: type[AsyncBuildStep] = AsyncBuildStep

    def build(self, parent_step: builder.BuildStep | None = None, force_sequence: int | None = None) -> Any:
        check_cancelled()  # an object boundary
        step, post, args, kwargs = self.resolve_step(parent_step, force_sequence)
        instance = self.instantiate(step, args, kwargs)
        if post.declarations or not after_postgeneration_is_noop(self.factory_meta.factory):
            self.post_generate(PostGenerationSteps(step, instance, post))
        return instance

    def post_generate(self, steps: PostGenerationSteps) -> None:
        """Run the object's post-generation declarations and ``_after_postgeneration`` now."""
        steps.run_all()

    def declarations(self) -> tuple[builder.DeclarationSet, builder.DeclarationSet]:
        """This object's pre- and post-declarations: the factory's, with this builder's extras parsed in.

        What ``parse_declarations`` returns, parsed once per call for the same extras (every
        object of a batch): each object gets a copy, as declarations may consume their context.
        """
        meta = self.factory_meta
        if not self.extras:
            return _copy(meta.pre_declarations), _copy(meta.post_declarations)
        call = current_call()
        # The parsed sets hold the extras' values, so their ids stay theirs while cached.
        key = (meta, tuple((name, id(value)) for name, value in self.extras.items()))
        parsed: tuple[builder.DeclarationSet, builder.DeclarationSet] | None = (
            call.parsed.get(key) if call is not None else None
        )
        if parsed is None:
            parsed = builder.parse_declarations(
                self.extras, base_pre=meta.pre_declarations, base_post=meta.post_declarations
            )
            if call is None or len(call.parsed) >= _PARSED_PER_CALL:
                return parsed
            call.parsed[key] = parsed
        return _copy(parsed[0]), _copy(parsed[1])

    def resolve_step(
        self, parent_step: builder.BuildStep | None, force_sequence: int | None
    ) -> tuple[AsyncBuildStep, builder.DeclarationSet, tuple[Any, ...], dict[str, Any]]:
        """Resolve the pre-declarations: the step, the post-declarations and the model's arguments."""
        pre, post = self.declarations()
        if force_sequence is not None:
            sequence = force_sequence
        elif self.force_init_sequence is not None:
            sequence = self.force_init_sequence
        else:
            sequence = self.factory_meta.next_sequence()
        step = self.step_class(builder=self, sequence=sequence, parent_step=parent_step)
        step.resolve(pre)
        meta = self.factory_meta
        if plain_arguments(meta):
            # What prepare_arguments gives when nothing is excluded, renamed, inlined or adjusted.
            return step, post, (), {k: v for k, v in step.attributes.items() if v is not declarations.SKIP}
        args, kwargs = self.prepare_arguments(step.attributes)
        return step, post, args, kwargs

    def prepare_arguments(self, attributes: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The model's arguments: ``Meta.exclude``, ``rename``, ``inline_args`` and ``_adjust_kwargs`` applied."""
        return self.factory_meta.prepare_arguments(attributes)  # type: ignore[no-any-return]

    def instantiate(self, step: builder.BuildStep, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``_build``, ``_create`` or a StubObject, as the strategy says (awaited if async)."""
        return _instantiated(self.factory_meta, self.strategy, kwargs, self.make, step, args, kwargs)

    def make(self, step: builder.BuildStep, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The object for these arguments."""
        return resolve(self.factory_meta.instantiate(step=step, args=args, kwargs=kwargs))


def _instantiated(
    factory_meta: Any, strategy: str, kwargs: dict[str, Any], make: Callable[..., Any], *args: Any
) -> Any:
    """``make(*args)``: the object made from ``kwargs``, its errors noted, the files its save writes tracked."""
    if strategy == enums.CREATE_STRATEGY:
        files = own_unsaved_files(factory_meta.get_model_class(), kwargs)
        call = current_call() if files else None
        if call is not None:
            # Each names the file the save writes, if it does: deleted if the call rolls back.
            call.files.extend(files)
    try:
        return make(*args)
    except StopIteration as exc:
        raise IteratorExhaustedError(factory_meta.factory.__name__, f"_{strategy}") from exc
    except Exception as exc:
        note(exc, factory_meta, f"made its {strategy} object")
        raise


def plain_arguments(meta: Any, reads: Reads | None = None) -> bool:
    """Whether ``meta.prepare_arguments`` only drops SKIP values (no exclude, Params, rename, inline_args, hook)."""
    plain = _plain_meta.get(meta)
    if plain is None:  # what the class declared: fixed once it is defined
        plain = _plain_meta[meta] = (
            not meta.exclude and not meta.parameters and not meta.rename and not meta.inline_args
        )
    adjust_kwargs = reads(meta.factory, "_adjust_kwargs") if reads is not None else meta.factory._adjust_kwargs
    return plain and function_of(adjust_kwargs) is _BASE_ADJUST_KWARGS


_plain_meta: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()
_BASE_ADJUST_KWARGS = vars(factory_base.BaseFactory)["_adjust_kwargs"].__func__


#: Distinct extras whose parsed declarations one call keeps (a RelatedFactory passes a new
#: parent object each time: those are parsed each time, as factory_boy does).
_PARSED_PER_CALL = 32


def _copy(declarations: builder.DeclarationSet) -> builder.DeclarationSet:
    """What ``DeclarationSet.copy()`` returns, without joining and splitting every name again."""
    copy = builder.DeclarationSet.__new__(builder.DeclarationSet)
    copy.declarations = dict(declarations.declarations)
    copy.contexts = collections.defaultdict(dict, {name: dict(c) for name, c in declarations.contexts.items()})
    return copy


class PostGenerationSteps:
    """One object's post-generation declarations, then ``_after_postgeneration``.

    ``run_all()`` is what factory_boy does right after making the object; ``run(i)`` and
    ``finish()`` let ``bulk_create_batch`` insert many objects first and then run their steps
    declaration by declaration (declaration order, as factory_boy sorts them).
    """

    __slots__ = ("_post", "_results", "_step", "instance", "names")

    def __init__(self, step: builder.BuildStep, instance: Any, post: builder.DeclarationSet) -> None:
        self.instance = instance
        self.names: list[str] = list(post.sorted()) if post.declarations else []
        self._step: builder.BuildStep | None = step
        self._post = post
        self._results: dict[str, Any] = {}

    def run_all(self) -> None:
        for index in range(len(self.names)):
            self.run(index)
        self.finish()

    def run(self, index: int) -> None:
        """Evaluate the ``index``-th post-generation declaration (RelatedFactory, post_generation...)."""
        step = self._step
        assert step is not None, "run() after finish()"
        name = self.names[index]
        declaration = self._post[name]
        try:
            self._results[name] = resolve(
                declaration.declaration.evaluate_post(instance=self.instance, step=step, overrides=declaration.context)
            )
        except StopIteration as exc:
            raise IteratorExhaustedError(step.builder.factory_meta.factory.__name__, name) from exc
        except RecursionError as exc:
            _path(exc).append((step.builder.factory_meta.factory.__name__, name))
            raise
        except Exception as exc:
            note(exc, step.builder.factory_meta, f"ran its {name!r} post-generation declaration")
            raise

    def finish(self) -> None:
        """Call the factory's ``_after_postgeneration`` (awaited if async), then drop the build state."""
        step = self._step
        assert step is not None, "finish() twice"
        self._step = None  # the step holds the resolver and its parents: let them go
        # FactoryOptions.use_postgeneration_results drops the hook's return value, so call the
        # hook itself to await an ``async def _after_postgeneration``.
        resolve(
            step.builder.factory_meta.factory._after_postgeneration(
                self.instance,
                create=step.builder.strategy == enums.CREATE_STRATEGY,
                results=self._results,
            )
        )


def note(exc: BaseException, factory_meta: FactoryOptions, what: str) -> None:
    """Say on ``exc`` which factory was at work, once per factory, innermost first."""
    factory: Any = factory_meta.factory
    if isinstance(exc, RecursionError):
        return  # a cycle is reported once, by build_root
    if getattr(exc, "_asyncfactory_noted", None) is not factory:
        exc.add_note(f"(raised while {factory.__name__} {what})")
        exc._asyncfactory_noted = factory  # type: ignore[attr-defined]


def remember_params(factory_class: type[Any], params: dict[str, Any]) -> None:
    """Keep a call's parameters where DjangoModelFactory._generate keeps them, for its get_or_create
    IntegrityError fallback (``_original_params``, typed None by factory_boy: hence setattr)."""
    setattr(factory_class, "_original_params", params)  # noqa: B010


def build(factory_meta: FactoryOptions, params: dict[str, Any], strategy: str) -> Any:
    """Build one object of the factory described by ``factory_meta`` (sync)."""
    return build_root(AsyncStepBuilder(factory_meta, params, strategy))


def build_root(root: AsyncStepBuilder) -> Any:
    """``root.build()``, with a SubFactory cycle reported once, naming its factories."""
    try:
        return root.build()
    except RecursionError as exc:
        root_name = root.factory_meta.factory.__name__
        cycle = _cycle(getattr(exc, "_asyncfactory_path", []), root_name)
        if cycle is None:
            raise
        raise FactoryCycleError(root_name, cycle) from None


def _path(exc: RecursionError) -> list[tuple[str, str]]:
    path: list[tuple[str, str]] | None = getattr(exc, "_asyncfactory_path", None)
    if path is None:
        path = exc._asyncfactory_path = []  # type: ignore[attr-defined]
    return path


def _cycle(path: list[tuple[str, str]], start: str) -> list[tuple[str, str]] | None:
    """The (factory, declaration) steps that repeat at the deep end of ``path`` (innermost first),
    outermost first, beginning at factory ``start`` when it is part of the cycle."""
    for length in range(1, len(path) // 2 + 1):
        if path[:length] == path[length : 2 * length]:
            cycle = path[:length][::-1]
            first = next((i for i, (factory, _) in enumerate(cycle) if factory == start), 0)
            return cycle[first:] + cycle[:first]
    return None


# --- what a call of a factory can make ------------------------------------------------------------

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
    if not _evaluates_as_declared(value, reads):
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


# --- plans: simple factories made without a Resolver per object --------------------------------

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
        return _instantiated(meta, strategy, kwargs, make_object, meta, kwargs)


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
    if not _evaluates_as_declared(value, reads):
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


def _evaluates_as_declared(value: Any, reads: Reads) -> bool:
    """Whether ``value.evaluate_pre`` is factory_boy's: unroll the declared context, then ``evaluate``."""
    kind = type(value)
    return (
        reads(kind, "evaluate_pre") is declarations.BaseDeclaration.evaluate_pre
        and reads(kind, "unroll_context") is declarations.BaseDeclaration.unroll_context
    )


# --- a Meta.model resolved at each use ---------------------------------------------------------


class DeferredModel:
    """A ``Meta.model`` stand-in for a model known only at use, e.g. ``get_user_model()``."""

    def __init__(self, label: str, resolve: Callable[[Any], Any]) -> None:
        self.label = label
        self.resolve = resolve  # called with the factory class; returns the model class

    def __repr__(self) -> str:
        return self.label


class AsyncFactoryOptions(factory_django.DjangoOptions):
    """DjangoOptions with this package's ``Meta`` options.

    ``bulk_batches`` (default True): ``create_batch`` may insert its objects with ``bulk_create``
    when nothing observable differs from saving them one by one; False saves them one by one.
    """

    def _build_default_options(self) -> list[Any]:
        return [*super()._build_default_options(), factory_base.OptionDefault("bulk_batches", True, inherit=True)]


class DeferredModelOptions(AsyncFactoryOptions):
    """DjangoOptions whose ``Meta.model`` may be a DeferredModel, resolved at each use.

    factory_boy resolves ``Meta.model`` (``get_model_class``) while the class is defined; then
    this returns the DeferredModel itself, and every later call returns what it resolves to.
    """

    _defined = False

    def contribute_to_class(self, *args: Any, **kwargs: Any) -> None:
        super().contribute_to_class(*args, **kwargs)
        self._defined = True

    def get_model_class(self) -> Any:
        if not isinstance(self.model, DeferredModel):
            return super().get_model_class()
        return self.model.resolve(self.factory) if self._defined else self.model

    def _get_counter_reference(self) -> Any:
        # The model is unknown until used: share the parent's sequence only if both defer it.
        base: Any = self.base_factory
        deferred = isinstance(self.model, DeferredModel)
        base_deferred = base is not None and isinstance(base._meta.model, DeferredModel)
        if deferred and base_deferred:
            return base._meta.counter_reference
        if deferred or base_deferred:
            return self
        return super()._get_counter_reference()


# --- bulk_create_batch --------------------------------------------------------------------------
# The classes below serve app/factory/bulk.py: BulkStepBuilder reuses AsyncStepBuilder's
# resolve_step and PostGenerationSteps, with a collector in place of instantiate.


class BulkCollector(Protocol):
    """What a BulkStepBuilder hands its objects to (``app.factory.bulk``'s plan)."""

    def handles(self, factory_meta: Any) -> bool:
        """Whether objects of this factory go through ``instantiate``/``defer`` (Django models)."""

    def instantiate(self, factory_meta: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Return the object for these arguments: unsaved and queued for insert, or created."""

    def defer(self, postgen: PostGenerationSteps) -> None:
        """Keep an object's post-generation to run once the object is in the database."""

    def reading(self, values: Iterable[Any]) -> None:
        """Code of the user's is about to read ``values``: insert them first if they are queued."""


class BulkResolver(AsyncResolver):
    """An AsyncResolver whose declarations see their sub-factories' objects saved, as with ``create``.

    A declaration that reads into another's value (``SelfAttribute("company.id")``, ``LazyAttribute(
    lambda o: o.company.pk)``) gets it after the collector has inserted it, if it was a queued
    object; a ``SelfAttribute`` that passes the object on as it is (``SelfAttribute("..author")``)
    leaves it queued.
    """

    def __getattr__(self, name: str) -> Any:
        readers = self._Resolver__step.builder.readers
        readers.append(self._Resolver__declarations.declarations.get(name))
        try:
            value = super().__getattr__(name)
        finally:
            readers.pop()
        reader = readers[-1] if readers else None
        passes_on = isinstance(reader, declarations.SelfAttribute) and reader.attribute_name == name
        if reader is not None and not passes_on:
            self._Resolver__step.builder.collector.reading((value,))
        return value


class BulkBuildStep(AsyncBuildStep):
    def resolve(self, declarations: builder.DeclarationSet) -> None:
        readers = self.builder.readers
        readers.append(None)  # collecting the values for the model: nobody reads into them
        try:
            super().resolve(declarations)
        finally:
            readers.pop()


class BulkStepBuilder(AsyncStepBuilder):
    """AsyncStepBuilder for ``bulk_create_batch``: a collector makes the objects, post-generation waits.

    For Django model factories, ``build`` resolves the declarations as ``AsyncStepBuilder.build``
    does (same sequence numbers, same SubFactory recursion, through this class), then asks the
    collector for the object instead of calling ``_create`` (``make``), and hands the collector a
    ``PostGenerationSteps`` instead of running post-generation now (``post_generate``). Other factories
    (``factory.Dict``, ``factory.List``, context unrolling through DictFactory) build as usual.
    """

    resolver_class = BulkResolver
    step_class = BulkBuildStep

    def __init__(
        self,
        factory_meta: Any,
        extras: dict[str, Any],
        strategy: str,
        collector: BulkCollector,
        readers: list[Any] | None = None,
    ) -> None:
        super().__init__(factory_meta, extras, strategy)
        self.collector = collector
        # The declarations being computed, innermost last, shared by the builders of one object.
        self.readers: list[Any] = [] if readers is None else readers

    def prepare_arguments(self, attributes: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if function_of(self.factory_meta.factory._adjust_kwargs) is not _BASE_ADJUST_KWARGS:
            self.collector.reading(attributes.values())  # the user's hook may read their primary keys
        return super().prepare_arguments(attributes)

    def recurse(self, factory_meta: Any, extras: dict[str, Any]) -> BulkStepBuilder:
        return BulkStepBuilder(factory_meta, extras, self.strategy, self.collector, self.readers)

    def make(self, step: builder.BuildStep, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.collector.handles(self.factory_meta):
            return super().make(step, args, kwargs)
        return self.collector.instantiate(self.factory_meta, args, kwargs)

    def post_generate(self, steps: PostGenerationSteps) -> None:
        # A Django model object waits until the collector has inserted it.
        if self.collector.handles(self.factory_meta):
            self.collector.defer(steps)
        else:
            super().post_generate(steps)


def after_postgeneration_is_noop(factory: Any, reads: Reads | None = None) -> bool:
    """Whether ``factory._after_postgeneration(instance, create, results={})`` does nothing.

    True for factory_boy's own hooks (DjangoModelFactory's saves only when ``results`` is not
    empty): then an object without post-generation declarations needs no post-generation step.
    """
    hook = reads(factory, "_after_postgeneration") if reads is not None else function_of(factory._after_postgeneration)
    return hook is _DJANGO_AFTER_POSTGENERATION or hook is _BASE_AFTER_POSTGENERATION


_DJANGO_AFTER_POSTGENERATION = vars(factory_django.DjangoModelFactory)["_after_postgeneration"].__func__
_BASE_AFTER_POSTGENERATION = vars(factory_base.BaseFactory)["_after_postgeneration"].__func__
