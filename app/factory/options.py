"""Options of this package's factories: its ``Meta`` options, and a ``Meta.model`` resolved at each use.

Subclasses factory_boy's ``DjangoOptions`` and its hooks ``_build_default_options``,
``get_model_class``, ``contribute_to_class`` and ``_get_counter_reference`` (factory_boy 3.3.x).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factory import base as factory_base
from factory import django as factory_django


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
