"""BASELINE ONLY, not for use: the original gist's approach, written again for the benchmark.

The gist this project grew from made factory_boy async by turning the builder itself into
coroutines and awaiting Django's ``acreate`` for every row. Each row then pays a thread hop to
Django's sync ORM thread (``acreate`` is ``sync_to_async(create)``) and a commit of its own, and
a SubFactory parent is one more hop. ``app.factory.AsyncFactory`` instead makes one hop per call
and runs the whole call in one transaction; this module exists so the benchmark can show the
difference. It patches nothing in factory_boy.
"""

from __future__ import annotations

import inspect
from typing import Any, Generic, TypeVar

from factory import builder, enums
from factory.django import DjangoModelFactory

T = TypeVar("T")


async def _settled(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class NaiveAsyncStepBuilder(builder.StepBuilder):
    """factory_boy's StepBuilder.build as a coroutine: awaits sub-factories and ``_create``."""

    async def build(self, parent_step: Any = None, force_sequence: Any = None) -> Any:  # type: ignore[override]
        meta = self.factory_meta
        pre, post = builder.parse_declarations(
            self.extras, base_pre=meta.pre_declarations, base_post=meta.post_declarations
        )
        if force_sequence is not None:
            sequence = force_sequence
        elif self.force_init_sequence is not None:
            sequence = self.force_init_sequence
        else:
            sequence = meta.next_sequence()

        step = builder.BuildStep(builder=self, sequence=sequence, parent_step=parent_step)
        step.stub = builder.Resolver(declarations=pre, step=step, sequence=sequence)
        for name in pre:
            # A SubFactory's value is the coroutine of its own build(): one more hop per parent.
            step.attributes[name] = await _settled(getattr(step.stub, name))

        args, kwargs = meta.prepare_arguments(step.attributes)
        instance = await _settled(meta.instantiate(step=step, args=args, kwargs=kwargs))

        results = {}
        for name in post.sorted():
            declaration = post[name]
            results[name] = await _settled(
                declaration.declaration.evaluate_post(instance=instance, step=step, overrides=declaration.context)
            )
        await _settled(
            meta.factory._after_postgeneration(instance, create=self.strategy == enums.CREATE_STRATEGY, results=results)
        )
        return instance


class NaiveAsyncFactory(DjangoModelFactory[T], Generic[T]):
    """The gist's AsyncFactory, reduced to what the benchmark calls: ``await create_batch(n)``."""

    class Meta:
        abstract = True

    @classmethod
    async def create(cls, **kwargs: Any) -> T:  # type: ignore[override]
        return await NaiveAsyncStepBuilder(cls._meta, kwargs, enums.CREATE_STRATEGY).build()  # type: ignore[no-any-return]

    @classmethod
    async def create_batch(cls, size: int, **kwargs: Any) -> list[T]:  # type: ignore[override]
        # One awaited create() per row, as the gist does.
        return [await cls.create(**kwargs) for _ in range(size)]

    @classmethod
    async def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> T:  # type: ignore[override]
        # Django's acreate: a sync_to_async hop and an autocommitted INSERT per row.
        return await cls._get_manager(model_class).acreate(*args, **kwargs)  # type: ignore[no-any-return]
