"""Row counts, to check that a failed call left the database as it was."""

from __future__ import annotations

from django.apps import apps
from django.db import models


async def row_counts(*chosen: type[models.Model]) -> dict[str, int]:
    """Rows per model: the ``chosen`` ones, else every installed model."""
    return {model._meta.label: await model._default_manager.acount() for model in chosen or apps.get_models()}


async def empty(*chosen: type[models.Model]) -> bool:
    """Whether the ``chosen`` models' tables (else every table) have no row."""
    return not any((await row_counts(*chosen)).values())
