"""factory_boy's builder, awaiting async declarations and hooks, and the bulk builder.

It subclasses factory_boy's private builder: ``StepBuilder``, ``BuildStep``, ``Resolver`` and its
name-mangled ``__values``, ``__step``, ``__pending`` and ``__declarations``, ``parse_declarations``,
``DeclarationSet``, the declarations' ``evaluate_post`` and ``FactoryOptions.prepare_arguments``.
With ``graph``, ``plans`` and ``options`` (the other modules that read factory_boy's internals), it
was checked against factory_boy 3.3.x (``requirements.txt`` pins ``factory_boy>=3.3.3,<3.4``).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from factory import builder, declarations, enums
from factory.base import FactoryOptions

from .calls import check_cancelled, current_call, in_event_loop_code, resolve
from .errors import FactoryCycleError, IteratorExhaustedError, LateAttributeError
from .graph import adjusts_kwargs, after_postgeneration_is_noop, plain_arguments
from .orm import own_unsaved_files


class AsyncResolver(builder.Resolver):
    """A Resolver that awaits values returned as awaitables (async LazyFunction/LazyAttribute)."""

    def __getattr__(self, name: str) -> Any:
        values = self._Resolver__values
        if name in values:
            return values[name]
        factory_meta = self._Resolver__step.builder.factory_meta
        if in_event_loop_code():
            # An async LazyAttribute runs on the event loop, where the call's sync work cannot run:
            # it can only read what is already computed.
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
        return instantiated(self.factory_meta, self.strategy, kwargs, self.make, step, args, kwargs)

    def make(self, step: builder.BuildStep, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The object for these arguments."""
        return resolve(self.factory_meta.instantiate(step=step, args=args, kwargs=kwargs))


def instantiated(factory_meta: Any, strategy: str, kwargs: dict[str, Any], make: Callable[..., Any], *args: Any) -> Any:
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
        if adjusts_kwargs(self.factory_meta.factory):
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
