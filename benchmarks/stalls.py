"""Event-loop stalls: how long the event loop waits while a big factory call runs in Django's ORM thread.

A heartbeat task (``await asyncio.sleep(0.001)`` in a loop) records the gap between each of its
wake-ups and the previous one during ``FriendFactory.bulk_create_batch(n)`` and
``FriendFactory.create_batch(n/10)``. The call runs in the ORM thread, so the loop waits for the
GIL, which a busy thread hands over every ``sys.getswitchinterval()`` (5 ms), and for whatever holds
it longer: a full (generation 2) garbage collection walks every object the process holds, and
``gc.callbacks`` times each one during the call. Each call runs in the default GC state (enabled,
nothing frozen: this section runs outside the freeze of the other sections) and with ``gc.freeze()``
just before it and ``gc.unfreeze()`` after, the user-side remedy. The heartbeat alone, for
``NOOP_SECONDS``, is the reference: what the machine's other load costs the loop.

Every case starts from empty tables, with the same Faker values, after ``gc.collect()``; ``REPEATS``
repetitions, each running every case once in an order shuffled per repetition.
"""

from __future__ import annotations

import asyncio
import gc
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from factory.random import reseed_random

from app.models import Friend

from .databases import empty_tables
from .figures import DASH, cell, spread_dict
from .measure import WARM_UP_N, Progress, Spread
from .variants import Context

BEAT = 0.001  # seconds the heartbeat sleeps
REPEATS = 3
NOOP_SECONDS = 0.5
CALLS = ("noop", "bulk", "create")
CASES = ("noop", "bulk/default", "bulk/freeze", "create/default", "create/freeze")
FIGURES = ("seconds", "longest_gap_ms", "p99_gap_ms", "full_gcs", "longest_full_gc_ms")


def steps() -> int:
    return len(CASES) * REPEATS + 2  # and the warm-up of the two calls


def created(call: str, n: int) -> int:
    """How many Friends ``call`` makes when the section's n is ``n``."""
    return {"noop": 0, "bulk": n, "create": max(1, n // 10)}[call]


def label(call: str, n: int) -> str:
    if call == "noop":
        return f"no-op: the heartbeat alone for {NOOP_SECONDS} s"
    method = "bulk_create_batch" if call == "bulk" else "create_batch"
    return f"FriendFactory.{method}({created(call, n):,})"


class FullCollections:
    """While installed in ``gc.callbacks``: the duration of every generation-2 collection, in seconds."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.durations.append(time.perf_counter() - self._started)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


class Heartbeat:
    """A task that sleeps ``BEAT`` in a loop and records the gap between its wake-ups, in seconds."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.running = True

    async def beat(self) -> None:
        last = time.perf_counter()
        while self.running:
            await asyncio.sleep(BEAT)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value at or above ``fraction`` of the values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def observe(work: Callable[[], Awaitable[Any]], freeze: bool) -> dict[str, float]:
    """Run ``work()`` with the heartbeat beating and the full collections timed; freeze the GC around it if asked."""
    heart = Heartbeat()
    task = asyncio.ensure_future(heart.beat())
    await asyncio.sleep(0)  # the heartbeat is running before the call starts
    try:
        with FullCollections() as collections:
            if freeze:
                gc.freeze()
            try:
                start = time.perf_counter()
                made = await work()
                seconds = time.perf_counter() - start
            finally:
                if freeze:
                    gc.unfreeze()
    finally:
        heart.running = False
        await task
    del made  # released after the clock stopped
    full = collections.durations
    return {
        "seconds": seconds,
        "beats": len(heart.gaps),
        "longest_gap_ms": max(heart.gaps) * 1e3,
        "p99_gap_ms": percentile(heart.gaps, 0.99) * 1e3,
        "full_gcs": len(full),
        "longest_full_gc_ms": max(full, default=0.0) * 1e3,
        "full_gc_total_ms": sum(full) * 1e3,
    }


def gc_state() -> dict[str, Any]:
    """The GC state the section measures in; fails if some objects are frozen (it measures the default)."""
    if gc.get_freeze_count():
        raise RuntimeError(f"{gc.get_freeze_count()} objects are frozen: the stall section measures the default")
    gc.collect()
    return {
        "enabled": gc.isenabled(),
        "threshold": list(gc.get_threshold()),
        "frozen": gc.get_freeze_count(),
        "tracked_objects": len(gc.get_objects()),
    }


class StallRunner:
    """Observes one case at a time on one database, each from the same state."""

    def __init__(self, loop: asyncio.AbstractEventLoop, context: Context, seed: int) -> None:
        self.loop, self.context, self.seed = loop, context, seed

    def run(self, case: str, n: int) -> dict[str, float]:
        call, _, mode = case.partition("/")
        factory = self.context.ours["Friend"]
        works: dict[str, Callable[[], Awaitable[Any]]] = {
            "noop": lambda: asyncio.sleep(NOOP_SECONDS),
            "bulk": lambda: factory.bulk_create_batch(created("bulk", n)),
            "create": lambda: factory.create_batch(created("create", n)),
        }
        empty_tables(self.context.alias)
        reseed_random(self.seed)
        gc.collect()
        observed = self.loop.run_until_complete(observe(works[call], freeze=mode == "freeze"))
        rows = Friend.objects.using(self.context.alias).count()
        if rows != created(call, n):
            raise RuntimeError(f"{case} left {rows} Friends, expected {created(call, n)}")
        return observed


def measure(
    loop: asyncio.AbstractEventLoop, context: Context, backend: str, n: int, seed: int, progress: Progress
) -> dict[str, Any]:
    """The stall section of one database: every case once per repetition, in a shuffled order."""
    runner = StallRunner(loop, context, seed)
    state = gc_state()
    for call in ("bulk", "create"):
        progress.step(f"{backend:<10} stalls warm-up {call}")
        runner.run(call, WARM_UP_N * 10)
    order = random.Random(seed)
    observed: dict[str, list[dict[str, float]]] = {case: [] for case in CASES}
    for repetition in range(1, REPEATS + 1):
        cases = list(CASES)
        order.shuffle(cases)
        for case in cases:
            progress.step(f"{backend:<10} stalls {repetition}/{REPEATS} {case}")
            observed[case].append(runner.run(case, n))
    empty_tables(context.alias)
    rows = {}
    for case in CASES:
        call, _, mode = case.partition("/")
        rows[case] = {
            "label": label(call, n),
            "gc": "gc.freeze()" if mode == "freeze" else "default",
            "objects": created(call, n),
            **{figure: spread_dict(Spread.of([o[figure] for o in observed[case]])) for figure in FIGURES},
            "repetitions": observed[case],
        }
    return {"n": n, "beat_ms": BEAT * 1e3, "repeats": REPEATS, "gc_state": state, "cases": rows}


def header(backend: str, stalls: dict[str, Any]) -> list[str]:
    state = stalls["gc_state"]
    return [
        f"Event-loop stalls on {backend}: a heartbeat task (await asyncio.sleep({BEAT}) in a loop) beside each call, "
        f"the gaps between its wake-ups; {stalls['repeats']} repetitions,",
        f"median [min{DASH}max]. Default GC: the GC {'enabled' if state['enabled'] else 'DISABLED'}, thresholds "
        f"{tuple(state['threshold'])}, nothing frozen ({state['tracked_objects']:,} objects tracked), "
        "gc.collect() before each call;",
        "gc.freeze(): the same, with gc.freeze() just before the call and gc.unfreeze() after. Full GCs: generation-2 "
        "collections during the call.",
    ]


COLUMNS = ("call", "GC", "call s", "longest gap ms", "p99 gap ms", "full GCs", "longest full GC ms")


def cells(row: dict[str, Any], brackets: str = "[]") -> list[str]:
    return [
        row["label"],
        row["gc"],
        cell(row["seconds"], 2, "", brackets),
        cell(row["longest_gap_ms"], 1, "", brackets),
        cell(row["p99_gap_ms"], 1, "", brackets),
        cell(row["full_gcs"], 0, "", brackets),
        cell(row["longest_full_gc_ms"], 1, "", brackets),
    ]


WIDTHS = (40, 12, 20, 22, 20, 13, 22)


def aligned(values: list[str] | tuple[str, ...]) -> str:
    """The call and the GC state left-aligned, the figures right-aligned."""
    return "  " + "".join(
        f"{value:<{width}}" if i < 2 else f"{value:>{width}}"
        for i, (value, width) in enumerate(zip(values, WIDTHS, strict=True))
    )


def text(backend: str, stalls: dict[str, Any]) -> list[str]:
    return [*header(backend, stalls), aligned(COLUMNS), *(aligned(cells(row)) for row in stalls["cases"].values())]


def markdown(backend: str, stalls: dict[str, Any]) -> list[str]:
    out = ["", "### Event-loop stalls", "", " ".join(header(backend, stalls)).replace("[", "(").replace("]", ")"), ""]
    out += ["| " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * (len(COLUMNS) - 2)]
    out += ["| " + " | ".join(cells(row, "()")) + " |" for row in stalls["cases"].values()]
    return out
