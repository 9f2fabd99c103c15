"""mute_signals that also works around ``async def`` functions and with ``async with``."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from django.dispatch import Signal
from factory import django as factory_django

F = TypeVar("F", bound=Callable[..., Any])

# How many mute_signals blocks hold each signal muted, and the receivers to give back when the
# last one exits: overlapping blocks (concurrent tasks, nested factories) stay muted until then.
_lock = threading.Lock()
_holders: dict[Signal, int] = {}
_paused: dict[Signal, list[Any]] = {}


def _clear_cache(signal: Signal) -> None:
    # Model signals cache receivers per sender; the cache must follow `receivers`.
    with signal.lock:
        signal.sender_receivers_cache.clear()


class mute_signals(factory_django.mute_signals):  # noqa: N801 - the name factory_boy users know
    """Disable Django signals around a block, a function, a coroutine function or a factory.

    ``with``/``async with mute_signals(post_save): ...``; ``@mute_signals(post_save)`` on a
    function, an ``async def`` or a factory class (every call of that factory, sub-factories
    included, has the signals muted until it returns).
    """

    def __init__(self, *signals: Signal) -> None:
        super().__init__(*signals)

    def copy(self) -> mute_signals:
        return mute_signals(*self.signals)

    def __enter__(self) -> None:
        with _lock:
            for signal in self.signals:
                if not _holders.get(signal):
                    _paused[signal] = signal.receivers
                    signal.receivers = []
                    _clear_cache(signal)
                _holders[signal] = _holders.get(signal, 0) + 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with _lock:
            for signal in self.signals:
                _holders[signal] -= 1
                if not _holders[signal]:
                    del _holders[signal]
                    # Receivers connected while muted are kept, after the restored ones.
                    signal.receivers = _paused.pop(signal) + signal.receivers
                    _clear_cache(signal)

    async def __aenter__(self) -> mute_signals:
        self.__enter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, callable_obj: F) -> F:
        if inspect.iscoroutinefunction(callable_obj):
            return self._wrap_coroutine_function(callable_obj)  # type: ignore[return-value]
        return super().__call__(callable_obj)  # type: ignore[no-any-return]

    def wrap_method(self, method: Callable[..., Any]) -> classmethod[Any, Any, Any]:
        if inspect.iscoroutinefunction(method):
            return classmethod(self._wrap_coroutine_function(method))
        return super().wrap_method(method)  # type: ignore[no-any-return]

    def _wrap_coroutine_function(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.copy():
                return await func(*args, **kwargs)

        return wrapper
