"""The one-row create() shortcut: ``N x await UserFactory.create()`` in autocommit, with and without a transaction.

When one plain INSERT is all a ``create()`` can do, app.factory runs it in autocommit, without
BEGIN/COMMIT around it (``app.factory.transactions.makes_one_row``). The other loop is the same, with
a subclass of the benchmark's UserFactory whose ``_after_postgeneration`` does exactly what
DjangoModelFactory's does (it calls it): the library cannot prove such a create() is one row, so it
opens a transaction; the subclass also pays one post-generation step per object (a no-op hook call),
the only other difference. Both make ``per_object_n`` users per loop, from empty tables, with the
same Faker values, in interleaved rounds with the GC frozen after a warm-up, as the variants.
"""

from __future__ import annotations

import asyncio
import random
from functools import partial
from typing import Any

from app.factory.transactions import makes_one_row

from .figures import DASH, TIMES, cell, spread_dict
from .measure import WARM_UP_N, Progress, Runner, Spread, frozen_gc, interleave
from .variants import Context, Variant

KEYS = ("shortcut", "transaction")
LABELS = {
    "shortcut": f"N {TIMES} await UserFactory.create(), autocommit (the shortcut)",
    "transaction": f"N {TIMES} the same, in a transaction (_after_postgeneration overridden)",
}


def steps(rounds: int) -> int:
    return len(KEYS) * (rounds + 1)


def transaction_factory(user_factory: Any) -> Any:
    """``user_factory`` with an ``_after_postgeneration`` that only calls DjangoModelFactory's."""

    class TransactionUserFactory(user_factory):  # type: ignore[misc]
        @classmethod
        def _after_postgeneration(cls, instance: Any, create: bool, results: dict[str, Any] | None = None) -> None:
            super()._after_postgeneration(instance, create, results)

    return TransactionUserFactory


def create_loop(factory: Any) -> Any:
    async def run(c: Context, model: str, n: int) -> list[Any]:
        create = factory.create
        return [await create() for _ in range(n)]

    return run


def measure(
    loop: asyncio.AbstractEventLoop, context: Context, backend: str, n: int, rounds: int, seed: int, progress: Progress
) -> dict[str, Any]:
    """The shortcut section of one database: both loops in interleaved rounds, µs per create()."""
    factories = {"shortcut": context.ours["User"], "transaction": transaction_factory(context.ours["User"])}
    one_row = {key: makes_one_row(factory, {}) for key, factory in factories.items()}
    if one_row != {"shortcut": True, "transaction": False}:
        raise RuntimeError(f"the one-row shortcut is not what this section compares: makes_one_row = {one_row}")
    variants = {key: Variant(key, LABELS[key], create_loop(factories[key]), per_object=True) for key in KEYS}
    runner = Runner(loop, context, seed)
    for key in KEYS:
        progress.step(f"{backend:<10} shortcut warm-up {key}")
        runner.time(variants[key], "User", WARM_UP_N)

    def us_per_create(key: str) -> float:
        return runner.time(variants[key], "User", n) / n * 1e6

    runs = {key: partial(us_per_create, key) for key in KEYS}
    with frozen_gc():
        samples = interleave(runs, rounds, random.Random(seed), progress, f"{backend:<10} shortcut")
    shortcut, transaction = samples["shortcut"], samples["transaction"]
    return {
        "n": n,
        "rounds": rounds,
        "labels": LABELS,
        "makes_one_row": one_row,
        "us_per_create": {key: spread_dict(Spread.of(samples[key])) for key in KEYS},
        "samples_us_per_create": samples,
        "transaction_vs_shortcut": {
            **spread_dict(Spread.of_ratios(transaction, shortcut)),
            "of_medians": Spread.of(transaction).median / Spread.of(shortcut).median,
        },
        "saved_us_per_create": spread_dict(Spread.of([t - s for t, s in zip(transaction, shortcut, strict=True)])),
    }


def lines(backend: str, section: dict[str, Any], brackets: str = "[]") -> list[str]:
    us, ratio, saved = section["us_per_create"], section["transaction_vs_shortcut"], section["saved_us_per_create"]
    return [
        f"{LABELS['shortcut']}: {cell(us['shortcut'], brackets=brackets)} µs per create()",
        f"{LABELS['transaction']}: {cell(us['transaction'], brackets=brackets)} µs per create()",
        f"worth: transaction / shortcut {cell(ratio, 2, TIMES, brackets)} (per round), "
        f"{cell(saved, 0, brackets=brackets)} µs saved per create()",
    ]


def header(backend: str, section: dict[str, Any]) -> str:
    return (
        f"One-row create() shortcut on {backend}: N={section['n']} creates per loop, {section['rounds']} interleaved "
        f"round(s); median [min{DASH}max] (ratio: of the per-round ratios):"
    )


def text(backend: str, section: dict[str, Any]) -> list[str]:
    return [header(backend, section), *(f"  {line}" for line in lines(backend, section))]


def markdown(backend: str, section: dict[str, Any]) -> list[str]:
    return [
        "",
        "### The one-row create() shortcut",
        "",
        header(backend, section).replace("[", "(").replace("]", ")"),
        "",
    ] + [f"- {line}" for line in lines(backend, section, "()")]
