"""Running a coroutine the way an application does: in an event loop of its own, outside pytest's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

R = TypeVar("R")


def run_in_own_event_loop(main: Callable[[], Awaitable[R]]) -> R:
    """``asyncio.run(main())`` in a thread of its own, as an application runs, outside the pytest plugin."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(main())  # type: ignore[arg-type]
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
