"""Timing and statistics: equal repeats, interleaved rounds, medians with their spread.

Per database: one warm-up pass of every (model, variant) at a small n, not recorded (it also checks
that every variant that saves makes the same names); then ``rounds`` rounds, each running every
(model, variant) once, in an order shuffled per round by ``random.Random(seed)``.

Before each timed run, for every variant alike: the demo tables are emptied, the random state of
factory_boy and Faker is reseeded (the same names every time), and ``gc.collect()`` runs. The
garbage collector stays on. After the warm-up, ``gc.freeze()`` sets aside what the process holds
(Django, Faker, the imports), so that ``gc.collect()`` costs a millisecond instead of 20 to 100 ms
on this machine, and collections during a run walk only what was made after the freeze, for every
variant alike. The clock covers the one call and stops before its objects are released; the rows
are counted afterwards, outside the clock.

The sections of ``shortcut`` and ``auth`` follow the same method with ``interleave`` and
``frozen_gc``; the stall section measures the default GC state, outside any freeze.

The variants that pay a call or a commit per object (loops, autocommit) make ``per_object_n``
objects per call instead of ``n``: their cost per object does not depend on n, and at n they would
take most of the run's time.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from factory.random import reseed_random

if TYPE_CHECKING:  # variants imports the models: Django must be set up first
    from .variants import Context, Variant

WARM_UP_N = 3


@dataclass(frozen=True)
class Spread:
    """Median and range (min-max) of some samples."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    @classmethod
    def of_ratios(cls, values: Sequence[float], bases: Sequence[float]) -> Spread:
        """Of the per-round ratios ``values[i] / bases[i]`` (each round against itself)."""
        return cls.of([value / base for value, base in zip(values, bases, strict=True)])


@dataclass
class BackendResult:
    """The samples of one database: µs per object, per model, per variant, one per round in round order."""

    backend: str
    description: str
    server: str
    n: int
    per_object_n: int  # n of the variants that pay a call or a commit per object
    rounds: int
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)  # the other sections' summaries, by JSON key

    def n_for(self, variant: Variant) -> int:
        return self.per_object_n if variant.per_object else self.n

    def spread(self, model: str, key: str) -> Spread:
        return Spread.of(self.samples[model][key])

    def ratio(self, model: str, key: str, against: str) -> Spread:
        """Median and range of the per-round ratios ``key`` / ``against`` (each round against itself)."""
        return Spread.of_ratios(self.samples[model][key], self.samples[model][against])


class Progress:
    """One updating line on a terminal (stderr), one line per step otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.tty = sys.stderr.isatty()

    def step(self, text: str) -> None:
        self.done += 1
        line = f"[{self.done:>4}/{self.total}] {time.monotonic() - self.started:5.0f}s  {text}"
        sys.stderr.write("\r\033[K" + line if self.tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@contextmanager
def frozen_gc() -> Iterator[None]:
    """``gc.collect()``, then ``gc.freeze()`` until the end of the block: what the process holds now is
    left out of every collection, so that a collection costs what the measured call made, for every variant alike."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def interleave(
    runs: Mapping[str, Callable[[], float]], rounds: int, order: random.Random, progress: Progress, label: str
) -> dict[str, list[float]]:
    """Each of ``runs`` once per round, in an order shuffled per round: their samples, in round order."""
    samples: dict[str, list[float]] = {key: [] for key in runs}
    for round_number in range(1, rounds + 1):
        keys = list(runs)
        order.shuffle(keys)
        for key in keys:
            progress.step(f"{label} round {round_number}/{rounds} {key}")
            samples[key].append(runs[key]())
    return samples


def steps(models: Sequence[str], variants: Sequence[Variant], rounds: int) -> int:
    """How many timed runs (with the warm-up) one database takes."""
    return len(models) * len(variants) * (rounds + 1)


class Runner:
    """Times one call at a time on one database, each from the same state."""

    def __init__(self, loop: asyncio.AbstractEventLoop, context: Context, seed: int) -> None:
        self.loop, self.context, self.seed = loop, context, seed
        self.dirty = True  # whether the tables may hold rows

    def time(self, variant: Variant, model: str, n: int) -> float:
        """Seconds for one call of ``variant`` making ``n`` objects, from empty tables."""
        from .databases import empty_tables
        from .variants import model_class

        if self.dirty:  # a variant that saves nothing leaves them empty (checked below)
            empty_tables(self.context.alias)
        reseed_random(self.seed)
        gc.collect()
        if variant.is_async:
            seconds = self.loop.run_until_complete(self._timed(variant, model, n))
        else:
            start = time.perf_counter()
            made = variant.run(self.context, model, n)
            seconds = time.perf_counter() - start
            del made  # released after the clock stopped, as in _timed
        rows = model_class(model).objects.using(self.context.alias).count()
        self.dirty = rows > 0
        if rows != (n if variant.saves else 0):
            raise RuntimeError(f"{variant.key} of {model} left {rows} rows, expected {n if variant.saves else 0}")
        return seconds

    async def _timed(self, variant: Variant, model: str, n: int) -> float:
        start = time.perf_counter()
        made = await variant.run(self.context, model, n)
        elapsed = time.perf_counter() - start
        del made
        return elapsed

    def check_same_names(self, model: str, key: str, seen: dict[str, tuple[str, list[str]]]) -> None:
        """Fail unless ``key`` made the same User names as the first variant that saved ``model``."""
        from app.models import User

        made = sorted(User.objects.using(self.context.alias).values_list("name", flat=True))
        first, expected = seen.setdefault(model, (key, made))
        if made != expected:
            raise RuntimeError(f"{key} made other {model} names than {first}: the comparison would not be fair")


def measure_backend(
    loop: asyncio.AbstractEventLoop,
    context: Context,
    result: BackendResult,
    models: Sequence[str],
    variants: Sequence[Variant],
    seed: int,
    progress: Progress,
) -> BackendResult:
    """Fill ``result.samples``: a warm-up pass, then ``result.rounds`` interleaved rounds."""
    from .databases import empty_tables

    runner = Runner(loop, context, seed)
    pairs = [(model, variant) for model in models for variant in variants]
    names: dict[str, tuple[str, list[str]]] = {}
    for model, variant in pairs:  # imports, Faker providers, Django's caches, connections
        progress.step(f"{result.backend:<10} warm-up  {model:<6} {variant.key}")
        runner.time(variant, model, WARM_UP_N)
        if variant.saves:
            runner.check_same_names(model, variant.key, names)
    with frozen_gc():  # what the process holds now (Django, Faker, imports) is left out of every collection
        order = random.Random(seed)
        result.samples = {model: {variant.key: [] for variant in variants} for model in models}
        for round_number in range(1, result.rounds + 1):
            shuffled = list(pairs)
            order.shuffle(shuffled)
            for model, variant in shuffled:
                progress.step(f"{result.backend:<10} round {round_number}/{result.rounds} {model:<6} {variant.key}")
                n = result.n_for(variant)
                result.samples[model][variant.key].append(runner.time(variant, model, n) / n * 1e6)
    empty_tables(context.alias)
    return result
