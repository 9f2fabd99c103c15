"""CleanModelFactory: an AsyncFactory that saves only objects that pass ``full_clean()``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.db import models
from factory import errors

from .base import AsyncFactory
from .errors import FactoryValidationError
from .orm import write_alias

M = TypeVar("M", bound=models.Model)


class CleanModelFactory(AsyncFactory[M], Generic[M]):
    """An AsyncFactory whose ``create`` calls ``full_clean()`` before it saves; ``build`` does not.

    An invalid object raises FactoryValidationError (a ``ValidationError``) and, as every
    ``create`` runs in one transaction, nothing of that call is saved. With
    ``django_get_or_create`` an existing row is returned as it is; a new row is validated.
    A custom ``_create`` can call ``cls._full_clean(instance)`` itself. Django checks ``unique``
    fields where the routers read the model, not in ``Meta.database``.
    """

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type[M], *args: Any, **kwargs: Any) -> M:
        meta: Any = cls._meta
        if meta.django_get_or_create:
            existing = cls._get_existing(model_class, kwargs)
            if existing is not None:
                return existing
        instance = cls._build(model_class, *args, **kwargs)
        cls._full_clean(instance)
        # As manager.create(): force_insert, into the database it would write to.
        instance.save(force_insert=True, using=write_alias(cls, model_class))
        return instance

    @classmethod
    def _full_clean(cls, instance: M) -> None:
        """Run ``instance.full_clean()``; raise FactoryValidationError naming this factory if it fails."""
        try:
            instance.full_clean()
        except ValidationError as error:
            raise FactoryValidationError(_summary(cls.__name__, instance, error), error) from error

    @classmethod
    def _get_existing(cls, model_class: type[M], kwargs: dict[str, Any]) -> M | None:
        meta: Any = cls._meta
        lookup = {}
        for name in meta.django_get_or_create:
            if name not in kwargs:
                raise errors.FactoryError(
                    f"django_get_or_create - Unable to find initialization value for '{name}' in factory "
                    f"{cls.__name__}. Fix: pass {name}=... or declare {cls.__name__}.{name}."
                )
            lookup[name] = kwargs[name]
        try:
            return cls._get_manager(model_class).get(**lookup)  # type: ignore[no-any-return,no-untyped-call]
        except ObjectDoesNotExist:
            return None


def _summary(factory_name: str, instance: models.Model, error: ValidationError) -> str:
    error_dict = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.error_list}
    entries = []
    for name, field_errors in error_dict.items():
        if name != NON_FIELD_ERRORS:
            messages = [message for e in field_errors for message in e.messages]
            entries.append(_entry(instance, [name], messages))
            continue
        for e in field_errors:
            # unique_together and UniqueConstraint errors say which fields clashed.
            fields = (e.params or {}).get("unique_check", ())
            entries.append(_entry(instance, fields, e.messages))
    return f"{factory_name} could not create a valid {type(instance).__name__}: " + "; ".join(entries)


def _entry(instance: models.Model, fields: Iterable[str], messages: list[str]) -> str:
    values = ", ".join(f"{name}={_show(_value(instance, name))}" for name in fields)
    text = " ".join(messages)
    return f"{values}: {text}" if values else text


def _value(instance: models.Model, name: str) -> Any:
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:
        return getattr(instance, name, None)
    # value_from_object gives the id of a foreign key and never queries the database.
    return field.value_from_object(instance) if isinstance(field, models.Field) else None


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
