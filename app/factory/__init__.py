"""Async factory_boy factories for Django: ``user = await UserFactory.create()``.

Copy this package into any Django project: it imports only Django, factory_boy and asgiref.
"""

from .auth import AuthUserFactory
from .base import AsyncFactory
from .declarations import OptionalSubFactory
from .errors import (
    AsyncFactoryError,
    BulkCreateError,
    FactoryValidationError,
    OptionalSubFactoryError,
    SyncCallError,
    UniqueUsernameError,
)
from .signals import mute_signals
from .validation import CleanModelFactory

__all__ = [
    "AsyncFactory",
    "AsyncFactoryError",
    "AuthUserFactory",
    "BulkCreateError",
    "CleanModelFactory",
    "FactoryValidationError",
    "OptionalSubFactory",
    "OptionalSubFactoryError",
    "SyncCallError",
    "UniqueUsernameError",
    "mute_signals",
]
