"""OptionalSubFactory: a SubFactory for a nullable foreign key that makes nothing unless asked."""

from __future__ import annotations

from typing import Any

import factory
from django.core.exceptions import FieldDoesNotExist
from factory.declarations import BaseDeclaration

from .errors import OptionalSubFactoryError

_NOT_GIVEN = object()


class OptionalSubFactory(factory.SubFactory):
    """A SubFactory whose related object is made only when the call asks for it.

    ``author = OptionalSubFactory(AuthorFactory, **defaults)``: with no ``author`` argument,
    ``author=None`` or ``author=False`` the field is None and nothing is made;
    ``author=True`` or ``author__name=...`` makes one (with ``defaults``), by the parent's strategy
    (built for ``build``, saved for ``create``); ``author=<instance>`` uses that instance.
    """

    # The call-time value reaches evaluate_pre under the "" key instead of replacing us.
    CAPTURE_OVERRIDES = True

    def __init__(self, factory: Any, **defaults: Any) -> None:
        super().__init__(factory, **defaults)
        self.name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def evaluate_pre(self, instance: Any, step: Any, overrides: dict[str, Any]) -> Any:
        context = dict(overrides)
        value = context.pop("", _NOT_GIVEN)
        if isinstance(value, BaseDeclaration):
            # e.g. author=factory.SelfAttribute("..author"): evaluate it, then decide on its value.
            value = value.evaluate_pre(instance=instance, step=step, overrides=context)
            context = {}
        if value is _NOT_GIVEN:
            if not context:
                return self._none(step)
        elif value is None or value is False:
            if context:
                raise self._conflict(step, value, context, "asks for no object")
            return self._none(step)
        elif value is not True:
            if context:
                raise self._conflict(step, value, context, "is the object to use")
            return value
        return super().evaluate_pre(instance, step, context)

    def _none(self, step: Any) -> None:
        model = step.builder.factory_meta.get_model_class()
        try:
            field = model._meta.get_field(self.name)
        except (AttributeError, FieldDoesNotExist):  # not a Django model, or a renamed field
            return None
        if not field.null:
            factory_name = step.builder.factory_meta.factory.__name__
            raise OptionalSubFactoryError(
                f"{factory_name}.{self.name} is an OptionalSubFactory, which is None unless the call asks "
                f"for an object, but {model.__name__}.{self.name} is not nullable. Fix: declare it with "
                f"factory.SubFactory, or make the field null=True."
            )
        return None

    def _conflict(self, step: Any, value: Any, context: dict[str, Any], meaning: str) -> OptionalSubFactoryError:
        factory_name = step.builder.factory_meta.factory.__name__
        extras = ", ".join(f"{self.name}__{key}" for key in context)
        return OptionalSubFactoryError(
            f"{factory_name}: {self.name}={value!r} {meaning}, so {extras} cannot apply. "
            f"Fix: pass either {self.name}={value!r} or {extras}, not both."
        )
