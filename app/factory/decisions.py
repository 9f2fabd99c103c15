"""Per-class decisions, cached with the attributes they were read from.

Whether a factory's ``create()`` is one plain INSERT, whether its objects can be made by a plan:
such answers depend on methods a user may replace after the first call (``mock.patch.object(Model,
"save", ...)``, a new ``_adjust_kwargs``). A cached decision keeps every attribute it read; each
use reads them again (one ``getattr`` each) and works the decision out anew if any changed.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MethodType
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

K = TypeVar("K")
G = TypeVar("G")
V = TypeVar("V")

_MISSING = object()


def function_of(value: Any) -> Any:
    """The function behind a bound method (a classmethod read on its class); else ``value`` itself."""
    return value.__func__ if isinstance(value, MethodType) else value


class Reads:
    """The attributes a decision read, and what each was then."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], tuple[Any, str, Any]] = {}

    def __call__(self, owner: Any, name: str) -> Any:
        """``owner.name`` (the function behind it for a method), remembered."""
        value = function_of(getattr(owner, name, _MISSING))
        self._seen[id(owner), name] = (owner, name, value)
        return None if value is _MISSING else value

    def extend(self, other: Reads) -> None:
        """Also remember what ``other`` read (a decision this one used)."""
        self._seen.update(other._seen)

    def unchanged(self) -> bool:
        """Whether every attribute read is still what it was."""
        for owner, name, value in self._seen.values():
            current = getattr(owner, name, _MISSING)
            if current is not value and (type(current) is not MethodType or current.__func__ is not value):
                return False
        return True


class Decisions(Generic[K, G, V]):
    """``decide(key, given, reads)``'s answers, one per key (held weakly).

    An answer holds while ``given`` is the same object and every attribute it read is unchanged.
    """

    def __init__(self, decide: Callable[[K, G, Reads], V]) -> None:
        self._decide = decide
        self._answers: WeakKeyDictionary[Any, tuple[G, V, Reads]] = WeakKeyDictionary()

    def __call__(self, key: K, given: G, reads: Reads | None = None) -> V:
        """The answer for ``key`` and ``given``; ``reads``, if given, also remembers what it was read from."""
        known = self._answers.get(key)
        if known is None or known[0] is not given or not known[2].unchanged():
            answer_reads = Reads()
            known = (given, self._decide(key, given, answer_reads), answer_reads)
            self._answers[key] = known
        if reads is not None:
            reads.extend(known[2])
        return known[1]


#: Modules whose callables only compute values (a default like ``timezone.now`` or ``uuid.uuid4``).
_LIBRARY_MODULES = ("django.", "factory.", "faker.")
_LIBRARY_TOP_MODULES = frozenset({"builtins", "uuid", "datetime", "decimal", "random", "secrets", "string", "time"})


def is_library_callable(value: Any) -> bool:
    """Whether ``value`` is Django's, factory_boy's, Faker's or the standard library's: not the user's code."""
    module = getattr(value, "__module__", None) or ""
    return module in _LIBRARY_TOP_MODULES or module.startswith(_LIBRARY_MODULES)
