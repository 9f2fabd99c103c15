"""bulk_create_batch: create_batch's objects, inserted with bulk_create."""

from __future__ import annotations

from typing import Any


def bulk_generate(factory_class: Any, size: int, params: dict[str, Any]) -> list[Any]:
    """Build ``size`` objects of ``factory_class`` and insert them with ``bulk_create`` (sync)."""
    raise NotImplementedError("bulk_create_batch is not implemented yet")
