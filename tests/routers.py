"""A database router for the tests of calls spanning databases."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

ROUTED = {"testapp.Routed", "testapp.RoutedChild"}


class OtherRouter:
    """Sends the ROUTED models to the "other" database; everything else to "default"."""

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return "other" if model._meta.label in ROUTED else None

    db_for_read = db_for_write

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True
