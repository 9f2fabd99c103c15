"""Benchmark: plain factory_boy against app.factory.AsyncFactory, side by side, in one process.

    python -m benchmarks                       # n=2000, SQLite and PostgreSQL, about 4 minutes
    python3 dev.py bench                       # the same, in the project's virtualenv
    python -m benchmarks --json bench.json     # also write the figures
    python -m benchmarks --scaling             # scaling table up to n=100,000 (slower)

For ``User`` (one Faker field) and ``Friend`` (two SubFactory users), each variant makes n
objects in one call; the figure is microseconds per object, the best of --repeat runs (three
times as many for the quick variants), all variants interleaved in every run. PostgreSQL comes
from --postgres, else DATABASE_URL, else TEST_POSTGRES_URL (when one of them is a postgres://
URL); without one it is skipped, loudly.

It only ever uses databases of its own, and removes them at the end: a new SQLite file in db/
(a real file, so that each commit costs what it costs on disk) and a new PostgreSQL database
created on that server for this run. Rows you already had anywhere are never read or changed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMES = "\N{MULTIPLICATION SIGN}"
BACKENDS = ("sqlite", "postgresql")
ALIASES = {"sqlite": "default", "postgresql": "postgresql"}
WARM_UP_N = 20
FAST_FACTOR = 3  # variants without a commit per row are measured this many times per run
SCALING_RUNS = 2  # best of 2 for n=1,000; larger sizes run once
PER_CALL_N = 500
MEMORY_N = (1_000, 10_000)  # with --scaling: tracemalloc around bulk_create_batch(Friend)
SCALING_N = (1_000, 10_000)
SCALING_N_FULL = (1_000, 10_000, 100_000)
# The targets, as (label, variant, against, kind, {backend: bound}).
#   "faster": against / variant >= bound;  "within": variant / against <= bound.
TARGETS = (
    ("create_batch faster than factory_boy", "create_batch", "factory_boy_create_batch", "faster",
     {"sqlite": 5.0, "postgresql": 1.5}),
    (f"N {TIMES} await create() within factory_boy", "create_loop", "factory_boy_create_batch", "within",
     {"sqlite": 1.2, "postgresql": 1.2}),
    ("bulk_create_batch faster than factory_boy", "bulk_create_batch", "factory_boy_create_batch", "faster",
     {"sqlite": 8.0, "postgresql": 5.0}),
    ("bulk_create_batch within the floor", "bulk_create_batch", "floor_bulk_create", "within",
     {"sqlite": 1.25, "postgresql": 1.25}),
    ("build_batch within sync build_batch", "build_batch", "factory_boy_build_batch", "within",
     {"sqlite": 1.1, "postgresql": 1.1}),
)  # fmt: skip


def say(message: str = "") -> None:
    print(message, flush=True)


# --- the benchmark's own databases -------------------------------------------------------------


class SQLiteFile:
    """A new, empty SQLite file next to the project's (same disk), removed at the end."""

    def __init__(self) -> None:
        directory = ROOT / "db" if (ROOT / "db").is_dir() else None
        fd, name = tempfile.mkstemp(prefix="bench-", suffix=".sqlite3", dir=directory)
        os.close(fd)
        self.path = Path(name)

    def settings(self) -> dict[str, Any]:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(self.path),
            # As the project's settings.py: IMMEDIATE transactions, wait on the lock.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        }

    def describe(self) -> str:
        return f"SQLite file {self.path} (new, removed at the end)"

    def remove(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()


class PostgresDatabase:
    """A database this run creates on the server of ``url`` and drops at the end."""

    def __init__(self, url: str) -> None:
        import dj_database_url

        self.url = url
        self.config = dj_database_url.parse(url)
        self.name = f"asyncfactory_bench_{os.getpid()}_{secrets.token_hex(3)}"
        self.created = False

    def _connect(self) -> Any:
        import psycopg

        # The URL's own database is only connected to, to run CREATE/DROP DATABASE.
        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def create(self) -> None:
        from psycopg import sql

        with self._connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True

    def settings(self) -> dict[str, Any]:
        return {**self.config, "NAME": self.name}

    def describe(self) -> str:
        where = f"{self.config.get('HOST') or 'localhost'}:{self.config.get('PORT') or 5432}"
        return f"PostgreSQL database {self.name!r} on {where} (created for this run, dropped at the end)"

    def drop(self) -> None:
        if not self.created:
            return
        from psycopg import sql

        with self._connect() as conn:
            force = " WITH (FORCE)" if conn.info.server_version >= 130000 else ""
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(self.name)))
        self.created = False


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def django_version() -> str:
    import django

    return django.get_version()


def factory_version() -> str:
    import factory

    return str(factory.__version__)


def postgres_url(explicit: str | None) -> str | None:
    for url in (explicit, os.environ.get("DATABASE_URL"), os.environ.get("TEST_POSTGRES_URL")):
        if url and url.split(":", 1)[0] in ("postgres", "postgresql", "pgsql"):
            return url
    return None


def configure_django(databases: dict[str, dict[str, Any]]) -> None:
    import django
    from django.conf import settings

    import settings as project

    settings.configure(
        INSTALLED_APPS=project.INSTALLED_APPS,
        DATABASES=databases,
        DEFAULT_AUTO_FIELD=project.DEFAULT_AUTO_FIELD,
        USE_TZ=project.USE_TZ,
        TIME_ZONE=project.TIME_ZONE,
        SECRET_KEY="benchmark-only",
    )
    django.setup()


# --- measuring -----------------------------------------------------------------------------------


class Progress:
    """One updating line on a terminal (stderr), one line per step otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def step(self, text: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        line = f"[{self.done:>3}/{self.total}] {elapsed:5.0f}s  {text}"
        if self.tty:
            sys.stderr.write("\r\033[K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


class Bench:
    def __init__(self, loop: asyncio.AbstractEventLoop, progress: Progress) -> None:
        self.loop = loop
        self.progress = progress

    def clear(self, alias: str) -> None:
        from django.db import connections

        from app.models import Friend, Profile, User

        tables = [m._meta.db_table for m in (Friend, Profile, User)]
        connection = connections[alias]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
            else:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")  # our own table names

    def measure(self, backend: str, factories: Any, variant: Any, model: str, n: int, note: str) -> float:
        """Seconds for one call of ``variant`` making ``n`` objects, on empty tables."""
        from app.models import Friend, User

        self.progress.step(f"{backend:<10} {model:<6} {variant.key:<24} n={n:<7,} {note}")
        alias = factories.alias
        self.clear(alias)
        gc.collect()
        if variant.is_async:
            seconds = self.loop.run_until_complete(variant.run(factories, model, n))
        else:
            seconds = variant.run(factories, model, n)
        rows = (User if model == "User" else Friend).objects.using(alias).count()
        expected = n if variant.saves else 0
        if rows != expected:
            raise RuntimeError(f"{variant.key}.{model} left {rows} rows, expected {expected}")
        return float(seconds)


def run_backend(
    bench: Bench, backend: str, n: int, repeat: int, scaling: tuple[int, ...], with_memory: bool
) -> dict[str, Any]:
    from .variants import MODELS, SCALING_VARIANTS, VARIANTS, make_factories

    factories = make_factories(ALIASES[backend])
    for model in MODELS:  # warm-up: imports, Faker providers, Django's caches
        for variant in VARIANTS:
            bench.measure(backend, factories, variant, model, WARM_UP_N, "warm-up")

    best: dict[str, float] = {}
    for run in range(1, repeat + 1):
        for model in MODELS:
            for variant in VARIANTS:
                for _ in range(FAST_FACTOR if variant.fast else 1):
                    seconds = bench.measure(backend, factories, variant, model, n, f"run {run}/{repeat}")
                    key = f"{variant.key}.{model}"
                    best[key] = min(best.get(key, seconds), seconds)

    # The scaling table starts from the figures above (n, best of them), then adds sizes.
    scaled: dict[str, dict[str, float]] = {
        f"{key}.{model}": {str(n): best[f"{key}.{model}"] / n * 1e6} for model in MODELS for key in SCALING_VARIANTS
    }
    by_key = {variant.key: variant for variant in VARIANTS}
    for size in (size for size in scaling if size != n):
        runs = SCALING_RUNS if size <= min(SCALING_N) else 1
        for run in range(1, runs + 1):
            for model in MODELS:
                for key in SCALING_VARIANTS:
                    note = f"scaling {run}/{runs}"
                    per_object = bench.measure(backend, factories, by_key[key], model, size, note) / size * 1e6
                    row = scaled.setdefault(f"{key}.{model}", {})
                    row[str(size)] = min(row.get(str(size), per_object), per_object)
    memory = memory_check(bench, backend, factories, MEMORY_N) if with_memory else {}
    bench.clear(factories.alias)
    return {
        "backend": backend,
        "n": n,
        "us_per_object": {key: seconds / n * 1e6 for key, seconds in best.items()},
        "repeat": repeat,
        "scaling_us_per_object": scaled,
        "per_call_us": per_call_costs(bench, backend, factories, repeat),
        "memory_bulk_create_batch_friend": memory,
    }


def memory_check(bench: Bench, backend: str, factories: Any, sizes: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """tracemalloc around bulk_create_batch(Friend): what the returned list holds, and the peak above it."""
    import tracemalloc

    async def call(size: int) -> tuple[int, int]:
        objects = await factories.ours["Friend"].bulk_create_batch(size)
        current, peak = tracemalloc.get_traced_memory()
        assert len(objects) == size
        return current, peak

    figures = {}
    for size in sizes:
        bench.progress.step(f"{backend:<10} memory of bulk_create_batch.Friend n={size:,} (tracemalloc)")
        bench.clear(factories.alias)
        gc.collect()
        tracemalloc.start()
        try:
            current, peak = bench.loop.run_until_complete(call(size))
        finally:
            tracemalloc.stop()
        figures[str(size)] = {
            "returned_bytes_per_object": current / size,
            "peak_above_returned_mb": (peak - current) / 1e6,
        }
    return figures


def per_call_costs(bench: Bench, backend: str, factories: Any, repeat: int) -> dict[str, float]:
    """What one ``await create()`` pays besides factory_boy's work: the hop, and a transaction."""
    from asgiref.sync import sync_to_async
    from django.db import transaction

    from app.models import User

    alias, calls = factories.alias, PER_CALL_N
    manager = User.objects.using(alias)

    def noop() -> None:
        pass

    async def hops() -> None:
        for _ in range(calls):
            await sync_to_async(noop, thread_sensitive=True)()

    def autocommit() -> None:
        for _ in range(calls):
            manager.create(name="x")

    def in_atomic() -> None:
        for _ in range(calls):
            with transaction.atomic(using=alias):
                manager.create(name="x")

    plain_create = factories.plain["User"].create

    def factory_boy_create() -> None:
        for _ in range(calls):
            plain_create()

    async def hopped_factory_boy_create() -> None:
        for _ in range(calls):
            await sync_to_async(plain_create, thread_sensitive=True)()

    measures: dict[str, Callable[[], object]] = {
        "thread_hop": lambda: bench.loop.run_until_complete(hops()),
        "orm_create_autocommit": autocommit,
        "orm_create_in_atomic": in_atomic,
        "factory_boy_create": factory_boy_create,
        "factory_boy_create_behind_hop": lambda: bench.loop.run_until_complete(hopped_factory_boy_create()),
    }
    best: dict[str, float] = {}
    for run in range(1, repeat + 1):
        for name, call in measures.items():
            bench.progress.step(f"{backend:<10} per-call {name:<24} x{calls}  run {run}/{repeat}")
            bench.clear(alias)
            gc.collect()
            start = time.perf_counter()
            call()
            per_call = (time.perf_counter() - start) / calls * 1e6
            best[name] = min(best.get(name, per_call), per_call)
    bench.clear(alias)
    return best


# --- reporting -----------------------------------------------------------------------------------


def ratio_text(ratio: float) -> str:
    if ratio >= 0.995 and ratio <= 1.005:
        return f"1.00{TIMES}"
    return f"{1 / ratio:.2f}{TIMES} faster" if ratio < 1 else f"{ratio:.2f}{TIMES} slower"


def print_table(result: dict[str, Any], description: str) -> None:
    from .variants import MODELS, VARIANTS

    figures = result["us_per_object"]
    say()
    say(f"{result['backend']}: {description}")
    runs, fast = result["repeat"], result["repeat"] * FAST_FACTOR
    say(
        f"n={result['n']:,} per call; µs per object, best of {runs} runs ({fast} for the variants without a "
        "commit per row); a Friend includes its 2 Users"
    )
    header = f"{'variant':<50}" + "".join(f"{model + ' µs/obj':>16}{'vs baseline':>15}" for model in MODELS)
    say(header)
    say("-" * len(header))
    for variant in VARIANTS:
        cells = ""
        for model in MODELS:
            value = figures[f"{variant.key}.{model}"]
            base = figures[f"{variant.baseline}.{model}"]
            cells += f"{value:>16.1f}{ratio_text(value / base):>15}"
        say(f"{variant.label:<50}{cells}")
    say("baseline: factory_boy create_batch; for the two build_batch rows, factory_boy build_batch.")


def check_targets(result: dict[str, Any]) -> list[str]:
    from .variants import MODELS

    figures, backend = result["us_per_object"], result["backend"]
    lines = []
    for label, variant, against, kind, bounds in TARGETS:
        bound = bounds[backend]
        for model in MODELS:
            value, base = figures[f"{variant}.{model}"], figures[f"{against}.{model}"]
            if kind == "faster":
                measured, ok, want = base / value, base / value >= bound, f"target ≥ {bound}{TIMES}"
                text = f"{measured:.2f}{TIMES} faster"
            else:
                measured, ok, want = value / base, value / base <= bound, f"target ≤ {bound}{TIMES}"
                text = f"{measured:.2f}{TIMES} the time"
            lines.append(f"  {'met   ' if ok else 'MISSED'} {label} ({model}): {text} ({want})")
    return lines


def print_per_call(result: dict[str, Any]) -> None:
    costs = result["per_call_us"]
    hop, auto, atomic = costs["thread_hop"], costs["orm_create_autocommit"], costs["orm_create_in_atomic"]
    plain, hopped = costs["factory_boy_create"], costs["factory_boy_create_behind_hop"]
    say(f"Per-call costs on {result['backend']} (µs per call, best of {result['repeat']}, {PER_CALL_N} calls each):")
    say(f"  thread hop: sync_to_async(thread_sensitive=True) of a no-op      {hop:8.0f}")
    say(f"  User.objects.create(), autocommitted                             {auto:8.0f}")
    say(f"  User.objects.create() inside transaction.atomic()                {atomic:8.0f}  ({atomic - auto:+.0f})")
    say(f"  factory_boy UserFactory.create()                                 {plain:8.0f}")
    say(
        f"  the same behind one hop, await sync_to_async(create)()           {hopped:8.0f}  "
        f"({hopped / plain:.2f}{TIMES}: the least an awaited create() costs)"
    )


def print_scaling(result: dict[str, Any]) -> None:
    scaled = result["scaling_us_per_object"]
    sizes = sorted({int(size) for row in scaled.values() for size in row})
    if len(sizes) < 2:
        return
    say(
        f"Scaling on {result['backend']} (µs per object; n={result['n']:,} is the table above, "
        f"n={min(SCALING_N):,} best of {SCALING_RUNS}, larger sizes one run):"
    )
    say(f"  {'variant.model':<26}" + "".join(f"{f'n={size:,}':>13}" for size in sizes) + f"{'max/min':>10}")
    for key, row in scaled.items():
        values = [row[str(size)] for size in sizes]
        say(f"  {key:<26}" + "".join(f"{value:>13.1f}" for value in values) + f"{max(values) / min(values):>10.2f}")
    memory = result["memory_bulk_create_batch_friend"]
    if memory:
        say("Memory of bulk_create_batch(Friend) (tracemalloc, all threads):")
        for size, figures in memory.items():
            say(
                f"  n={int(size):>7,}: the returned Friends (with their Users) hold "
                f"{figures['returned_bytes_per_object']:,.0f} B each; peak {figures['peak_above_returned_mb']:.1f} MB "
                "above them"
            )


# --- main ----------------------------------------------------------------------------------------


@contextmanager
def event_loop(use_uvloop: bool) -> Iterator[asyncio.AbstractEventLoop]:
    if use_uvloop:
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        from asgiref.sync import sync_to_async
        from django.db import connections

        # Django's thread-sensitive sync thread holds connections of its own: close them there.
        with suppress(Exception):
            loop.run_until_complete(sync_to_async(connections.close_all, thread_sensitive=True)())
        loop.close()
        connections.close_all()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--n", type=int, default=2000, help="objects per call (default 2000)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help=f"runs; the best counts (default 2; variants without a commit per row run {FAST_FACTOR} times per run)",
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql (default both)"
    )
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server to create the benchmark database on")
    parser.add_argument(
        "--scaling", action="store_true", help="scaling table up to n=100,000 and a memory check (default: to 10,000)"
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    parser.add_argument("--uvloop", action="store_true", help="run the async variants on uvloop (default: asyncio)")
    parser.add_argument(
        "--json", metavar="PATH", help="write the figures as JSON: an object per backend (a list of them for two)"
    )
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown or not args.backends:
        parser.error(f"unknown backend(s) {unknown}; choose from {', '.join(BACKENDS)}")
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends: list[str] = list(args.backends)
    scaling = () if args.no_scaling else (SCALING_N_FULL if args.scaling else SCALING_N)

    sqlite = SQLiteFile()
    postgres: PostgresDatabase | None = None
    cleanups: list[Callable[[], None]] = [sqlite.remove]
    try:
        if "postgresql" in backends:
            url = postgres_url(args.postgres)
            if url is None:
                say("!!! PostgreSQL SKIPPED: no postgres:// URL in --postgres, DATABASE_URL or TEST_POSTGRES_URL !!!")
                backends.remove("postgresql")
            else:
                postgres = PostgresDatabase(url)
                postgres.create()
                cleanups.insert(0, postgres.drop)
        if not backends:
            return 1

        databases = {"default": sqlite.settings()}
        described = {"sqlite": sqlite.describe()}
        if postgres is not None:
            databases["postgresql"] = postgres.settings()
            described["postgresql"] = postgres.describe()
        configure_django(databases)
        cleanups.insert(0, close_connections)

        from django.core.management import call_command

        for backend in backends:
            call_command("migrate", database=ALIASES[backend], verbosity=0, interactive=False)

        from .variants import MODELS, SCALING_VARIANTS, VARIANTS

        say(
            f"Benchmark of app.factory.AsyncFactory against factory_boy: Python {sys.version.split()[0]}, "
            f"Django {django_version()}, factory_boy {factory_version()}, {'uvloop' if args.uvloop else 'asyncio'} "
            f"event loop, {os.cpu_count()} CPUs."
        )
        say("Databases (its own only; rows you already had anywhere are never read or changed):")
        for backend in backends:
            say(f"  {backend}: {described[backend]}")
        measured = sum(FAST_FACTOR if variant.fast else 1 for variant in VARIANTS) * args.repeat + len(VARIANTS)
        scaled = sum(SCALING_RUNS if size <= min(SCALING_N) else 1 for size in scaling if size != args.n)
        scaled *= len(SCALING_VARIANTS)
        per_backend = len(MODELS) * (measured + scaled) + 5 * args.repeat + (len(MEMORY_N) if args.scaling else 0)
        progress = Progress(per_backend * len(backends))
        results = []
        with event_loop(args.uvloop) as loop:
            bench = Bench(loop, progress)
            try:
                for backend in backends:
                    results.append(run_backend(bench, backend, args.n, args.repeat, scaling, args.scaling))
            finally:
                progress.close()

        for result in results:
            print_table(result, described[result["backend"]])
            say("Targets (the issue's, on this machine):")
            for line in check_targets(result):
                say(line)
            print_per_call(result)
            print_scaling(result)
        if args.json:
            payload: Any = results[0] if len(results) == 1 else results
            Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
            say(f"\nWrote {args.json}")
        return 0
    finally:
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # report, and still run the other clean-ups
                print(f"benchmarks: clean-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
