"""Async factory_boy factories for Django: ``user = await UserFactory.create()``.

Copy this package into any Django project: it imports only Django, factory_boy and asgiref.
"""

from .base import AsyncFactory
from .errors import AsyncFactoryError, SyncCallError
from .signals import mute_signals

__all__ = ["AsyncFactory", "AsyncFactoryError", "SyncCallError", "mute_signals"]
