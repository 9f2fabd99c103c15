"""``pytest -p myproject.pytest_all_transactional``: every ``django_db`` test becomes ``transaction=True``.

Only for timing rollback isolation against table truncation (tests/asyncproject/measure.py).
"""

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and not marker.kwargs.get("transaction"):
            item.add_marker(pytest.mark.django_db(*marker.args, **{**marker.kwargs, "transaction": True}), append=False)
