"""The native engine on PostgreSQL: factories on django-async-backend against its own async ORM calls.

On the PostgreSQL database of the run, a second alias uses django-async-backend's engine (Python
3.12+, Django 6.1; skipped, saying why, elsewhere). Its variants, for ``User`` and ``Friend``:
``N x await create()`` natively, against ``N x await Model.async_objects.acreate()`` (the native
floor of a call per object) and ``N x await create()`` on the standard backend (the thread engine, the
same database); ``bulk_create_batch`` and ``create_batch`` natively, against ``abulk_create`` in one
``async_atomic()`` (the native bulk floor; for ``Friend`` its two inserts in one). And what bounds a call
per object: ``N x`` the model's ``acreate()`` calls in an ``async_atomic()`` each (the native floor of an
all-or-nothing call: the queries of ``create()``, no factory), and a query's round trip (``SELECT 1``) on
the asyncio connection and on Django's sync one. Same method as the main table: interleaved rounds in
an order shuffled per round, from empty tables, the same Faker values, the GC frozen after a warm-up;
all in one task, as django-async-backend's connection belongs to the task that first used it.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import random
import sys
import time
from typing import Any

import factory
from factory.random import reseed_random

from .figures import DASH, TIMES, cell, spread_dict
from .measure import WARM_UP_N, Progress, Spread, frozen_gc

ALIAS = "native"
QUERY = "query"  # the round-trip samples, beside the models'
MODELS = ("User", "Friend")
LABELS = {
    "acreate": f"N {TIMES} await Model.async_objects.acreate() (floor of a call per object)",
    "acreate_atomic": f"N {TIMES} the acreate() calls in one async_atomic() each (floor of an all-or-nothing call)",
    "create": f"N {TIMES} await create(), native",
    "create_standard": f"N {TIMES} await create(), standard backend (thread engine)",
    "abulk_create": "await abulk_create() in one async_atomic() (bulk floor)",
    "bulk_create_batch": "await bulk_create_batch(n), native",
    "create_batch": "await create_batch(n), native",
}
PER_OBJECT = {"acreate", "acreate_atomic", "create", "create_standard"}  # a call per object: per_object_n objects
#: (label, variant, against, bound, strict): the issue's targets for the native engine.
TARGETS = (
    (f"N {TIMES} create() ≤ 1.30{TIMES} N {TIMES} acreate()", "create", "acreate", 1.30, False),
    (f"N {TIMES} create() native below the standard backend's", "create", "create_standard", 1.0, True),
    (f"bulk_create_batch ≤ 1.20{TIMES} abulk_create floor", "bulk_create_batch", "abulk_create", 1.20, False),
)
#: (label, variant, against): figures that say why a target is met or missed, not targets.
BOUNDS = (
    (
        f"the all-or-nothing floor against the standard backend's create() (at or above 1{TIMES}: no code making "
        "these queries on this backend goes below the standard backend)",
        "acreate_atomic",
        "create_standard",
    ),
    (f"N {TIMES} create() native against that floor (the factory's own cost)", "create", "acreate_atomic"),
)
#: The round trip of one query: (key, label); QUERIES of them per sample, µs per query.
ROUND_TRIPS = {
    "native": "SELECT 1 on the asyncio connection (await per query)",
    "standard": "SELECT 1 on Django's sync connection (in one hop)",
}
QUERIES = 1000


def unavailable() -> str | None:
    """Why the native engine cannot be measured here, or None."""
    if sys.version_info < (3, 12):
        return "django-async-backend needs Python 3.12+ (run with python3.13 dev.py bench)"
    for module in ("django_async_backend", "greenlet"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    return None


def database_settings(server: dict[str, Any]) -> dict[str, Any]:
    """The native alias of the run's PostgreSQL database: the same database, django-async-backend's engine."""
    return {**server, "ENGINE": "django_async_backend.db.backends.postgresql"}


def steps(rounds: int) -> int:
    return (len(MODELS) * len(LABELS) + len(ROUND_TRIPS)) * (rounds + 1)


def factories(standard: str) -> dict[str, dict[str, Any]]:
    """The demo's factories on the native alias and on the standard one, as the main table's."""
    from .variants import make_context

    return {ALIAS: make_context(ALIAS).ours, standard: make_context(standard).ours}


def measure(
    loop: asyncio.AbstractEventLoop,
    standard: str,
    n: int,
    per_object_n: int,
    rounds: int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """The native section: every variant of both models, in interleaved rounds, µs per object."""
    return loop.run_until_complete(_measure(standard, n, per_object_n, rounds, seed, progress))


async def _measure(standard: str, n: int, per_object_n: int, rounds: int, seed: int, progress: Progress) -> dict:
    from asgiref.sync import sync_to_async
    from django.db import connections
    from django_async_backend.db import async_connections
    from django_async_backend.db.transaction import async_atomic

    from app.models import Friend, User

    ours = factories(standard)
    fake = factory.Faker._get_faker()

    async def acreate(model: str, count: int) -> list[Any]:
        users = User.async_objects.using(ALIAS)
        if model == "User":
            return [await users.acreate(name=fake.name()) for _ in range(count)]
        friends = Friend.async_objects.using(ALIAS)
        made = []
        for _ in range(count):
            user = await users.acreate(name=fake.name())
            made.append(await friends.acreate(user=user, friend=await users.acreate(name=fake.name())))
        return made

    async def acreate_atomic(model: str, count: int) -> list[Any]:
        made = []
        for _ in range(count):
            async with async_atomic(ALIAS):
                made.extend(await acreate(model, 1))
        return made

    async def abulk_create(model: str, count: int) -> list[Any]:
        async with async_atomic(ALIAS):
            users = [User(name=fake.name()) for _ in range(count * (1 if model == "User" else 2))]
            await User.async_objects.using(ALIAS).abulk_create(users)
            if model == "User":
                return users
            friends = [Friend(user=users[i], friend=users[i + 1]) for i in range(0, 2 * count, 2)]
            return await Friend.async_objects.using(ALIAS).abulk_create(friends)

    async def loop_of(factory_class: Any, count: int) -> list[Any]:
        create = factory_class.create
        return [await create() for _ in range(count)]

    runs = {
        "acreate": acreate,
        "acreate_atomic": acreate_atomic,
        "create": lambda model, count: loop_of(ours[ALIAS][model], count),
        "create_standard": lambda model, count: loop_of(ours[standard][model], count),
        "abulk_create": abulk_create,
        "bulk_create_batch": lambda model, count: ours[ALIAS][model].bulk_create_batch(count),
        "create_batch": lambda model, count: ours[ALIAS][model].create_batch(count),
    }

    async def empty() -> None:
        async with await async_connections[ALIAS].cursor() as cursor:
            await cursor.execute('TRUNCATE "app_friend", "app_profile", "app_user" RESTART IDENTITY')

    async def timed(model: str, key: str, count: int) -> float:
        await empty()
        reseed_random(seed)
        gc.collect()
        start = time.perf_counter()
        made = await runs[key](model, count)
        seconds = time.perf_counter() - start
        del made
        model_class = User if model == "User" else Friend
        if key == "create_standard":  # the same database, through Django's own connection
            rows = await model_class.objects.using(standard).acount()
        else:
            rows = await model_class.async_objects.using(ALIAS).acount()
        if rows != count:
            raise RuntimeError(f"native section: {key} of {model} left {rows} rows, expected {count}")
        return seconds / count * 1e6

    def count_for(key: str) -> int:
        return per_object_n if key in PER_OBJECT else n

    def select_standard(count: int) -> None:
        with connections[standard].cursor() as cursor:
            for _ in range(count):
                cursor.execute("SELECT 1")
                cursor.fetchone()

    async def round_trip(key: str, count: int) -> float:
        start = time.perf_counter()
        if key == "native":
            async with await async_connections[ALIAS].cursor() as cursor:
                for _ in range(count):
                    await cursor.execute("SELECT 1")
                    await cursor.fetchone()
        else:
            await sync_to_async(select_standard)(count)
        return (time.perf_counter() - start) / count * 1e6

    async def sample(model: str, key: str, warm_up: bool) -> float:
        if model == QUERY:
            return await round_trip(key, WARM_UP_N if warm_up else QUERIES)
        return await timed(model, key, WARM_UP_N if warm_up else count_for(key))

    pairs = [(model, key) for model in MODELS for key in runs] + [(QUERY, key) for key in ROUND_TRIPS]
    for model, key in pairs:
        progress.step(f"{'native':<10} warm-up  {model:<6} {key}")
        await sample(model, key, warm_up=True)
    samples: dict[str, dict[str, list[float]]] = {model: {key: [] for key in runs} for model in MODELS}
    samples[QUERY] = {key: [] for key in ROUND_TRIPS}
    with frozen_gc():
        order = random.Random(seed)
        for round_number in range(1, rounds + 1):
            shuffled = list(pairs)
            order.shuffle(shuffled)
            for model, key in shuffled:
                progress.step(f"{'native':<10} round {round_number}/{rounds} {model:<6} {key}")
                samples[model][key].append(await sample(model, key, warm_up=False))
    await empty()
    await async_connections[ALIAS].close()
    return summarize(samples, n, per_object_n, rounds)


def summarize(samples: dict[str, dict[str, list[float]]], n: int, per_object_n: int, rounds: int) -> dict[str, Any]:
    samples = dict(samples)
    queries = samples.pop(QUERY)
    section: dict[str, Any] = {"n": n, "per_object_n": per_object_n, "rounds": rounds, "labels": LABELS, "models": {}}
    section["round_trips"] = {
        key: {"label": ROUND_TRIPS[key], **spread_dict(Spread.of(values)), "samples_us": values}
        for key, values in queries.items()
    }
    for model, by_key in samples.items():
        targets = []
        for label, key, against, bound, strict in TARGETS:
            ratio = Spread.of_ratios(by_key[key], by_key[against])
            met = ratio.median < bound if strict else ratio.median <= bound
            targets.append({"label": label, "bound": bound, "met": met, **spread_dict(ratio)})
        bounds = [
            {"label": label, **spread_dict(Spread.of_ratios(by_key[key], by_key[against]))}
            for label, key, against in BOUNDS
        ]
        section["models"][model] = {
            "us_per_object": {key: spread_dict(Spread.of(values)) for key, values in by_key.items()},
            "samples_us_per_object": by_key,
            "targets": targets,
            "bounds": bounds,
        }
    return section


def header(backend: str, section: dict[str, Any]) -> str:
    return (
        f"Native engine (django-async-backend) on {backend}: n={section['n']}, {section['per_object_n']} for the "
        f"loops, {section['rounds']} interleaved round(s); µs per object, median [min{DASH}max]:"
    )


def lines(section: dict[str, Any], brackets: str = "[]") -> list[str]:
    out = []
    for model, row in section["models"].items():
        for key, label in section["labels"].items():
            out.append(f"{model}: {label}: {cell(row['us_per_object'][key], brackets=brackets)}")
        for target in row["targets"]:
            verdict = "met" if target["met"] else "MISSED"
            out.append(f"{verdict} {target['label']} ({model}): {cell(target, 2, TIMES, brackets)}")
        for bound in row["bounds"]:
            out.append(f"why: {bound['label']} ({model}): {cell(bound, 2, TIMES, brackets)}")
    for trip in section["round_trips"].values():
        out.append(f"a query's round trip: {trip['label']}: {cell(trip, brackets=brackets)} µs")
    return out


def text(backend: str, section: dict[str, Any]) -> list[str]:
    if "unavailable" in section:
        return [f"!!! Native engine on {backend} SKIPPED: {section['unavailable']} !!!"]
    return [header(backend, section), *(f"  {line}" for line in lines(section))]


def markdown(backend: str, section: dict[str, Any]) -> list[str]:
    out = ["", "### The native engine (django-async-backend)", ""]
    if "unavailable" in section:
        return [*out, f"Not measured: {section['unavailable']}."]
    return [*out, header(backend, section).replace("[", "(").replace("]", ")"), ""] + [
        f"- {line}" for line in lines(section, "()")
    ]
