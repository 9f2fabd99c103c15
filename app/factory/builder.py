"""The builder that lets sync factory_boy resolve async declarations and hooks.

This is the only module that touches private factory_boy details: ``StepBuilder``,
``BuildStep``, ``Resolver`` and the name-mangled ``Resolver.__values``. It was checked against
factory_boy 3.3.x (``requirements.txt`` pins ``factory_boy>=3.3.3,<3.4``); ``build`` is
``StepBuilder.build`` from factory_boy 3.3.3 with each user-provided result passed through
``resolve``.
"""

from __future__ import annotations

from typing import Any

from factory import builder, enums
from factory.base import FactoryOptions

from .bridge import resolve


class AsyncResolver(builder.Resolver):
    """A Resolver that awaits values returned as awaitables (async LazyFunction/LazyAttribute)."""

    def __getattr__(self, name: str) -> Any:
        value = super().__getattr__(name)
        awaited = resolve(value)
        if awaited is not value:
            # Cache the awaited result where Resolver caches values, so that other
            # declarations reading this one (LazyAttribute, SelfAttribute) see the result,
            # and the coroutine is awaited once.
            self._Resolver__values[name] = awaited
        return awaited


class AsyncBuildStep(builder.BuildStep):
    def resolve(self, declarations: builder.DeclarationSet) -> None:
        self.stub = AsyncResolver(declarations=declarations, step=self, sequence=self.sequence)
        for field_name in declarations:
            self.attributes[field_name] = getattr(self.stub, field_name)


class AsyncStepBuilder(builder.StepBuilder):
    """StepBuilder whose steps await async results; sub-factories inherit it via ``recurse``."""

    def build(self, parent_step: builder.BuildStep | None = None, force_sequence: int | None = None) -> Any:
        pre, post = builder.parse_declarations(
            self.extras,
            base_pre=self.factory_meta.pre_declarations,
            base_post=self.factory_meta.post_declarations,
        )
        if force_sequence is not None:
            sequence = force_sequence
        elif self.force_init_sequence is not None:
            sequence = self.force_init_sequence
        else:
            sequence = self.factory_meta.next_sequence()

        step = AsyncBuildStep(builder=self, sequence=sequence, parent_step=parent_step)
        step.resolve(pre)
        args, kwargs = self.factory_meta.prepare_arguments(step.attributes)
        instance = resolve(self.factory_meta.instantiate(step=step, args=args, kwargs=kwargs))

        postgen_results = {}
        for declaration_name in post.sorted():
            declaration = post[declaration_name]
            postgen_results[declaration_name] = resolve(
                declaration.declaration.evaluate_post(instance=instance, step=step, overrides=declaration.context)
            )
        # FactoryOptions.use_postgeneration_results drops the hook's return value, so call
        # the hook itself to await an ``async def _after_postgeneration``.
        resolve(
            self.factory_meta.factory._after_postgeneration(
                instance,
                create=self.strategy == enums.CREATE_STRATEGY,
                results=postgen_results,
            )
        )
        return instance


def build(factory_meta: FactoryOptions, params: dict[str, Any], strategy: str) -> Any:
    """Build one object of the factory described by ``factory_meta`` (sync)."""
    return AsyncStepBuilder(factory_meta, params, strategy).build()
