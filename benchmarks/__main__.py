"""Benchmark of app.factory.AsyncFactory against factory_boy, model_bakery and Django's own async ORM.

    python -m benchmarks --quick                  # n=60, 5 rounds, every database, no stalls: about a minute
    python -m benchmarks                          # n=1,000, 9 rounds, and the stalls: about 10 minutes
    python -m benchmarks --quick --stalls --stalls-n 2000   # with a smaller stall section
    python -m benchmarks --json bench.json        # also write every sample and figure as JSON
    python3 dev.py bench --quick                  # the same, in the project's virtualenv

Regenerate docs/benchmark-results.md, the file the docs take their figures from (never retype them):

    python -m benchmarks --markdown docs/benchmark-results.md

For ``User`` (one Faker field) and ``Friend`` (two SubFactory users), each variant makes n objects
in one call (the variants that pay a call or a commit per object make n/10), on each database: a new
SQLite file always; PostgreSQL (--postgres, else DATABASE_URL, else TEST_POSTGRES_URL, else
postgres://postgres@127.0.0.1:5432/test) and MariaDB/MySQL (--mysql, else DATABASE_URL, else
TEST_MYSQL_URL, else mysql://root@127.0.0.1:3306/test) when they answer: the benchmark creates a
database of its own on the server and drops it at the end. A server that does not answer is
skipped, loudly. Rows that exist anywhere else are never read or changed.

Every variant runs the same number of times, interleaved in an order shuffled each round; the
tables show the median and the min-max range per variant, and ratios as the median (and range) of
the per-round ratios against the strongest factory_boy baseline (create_batch inside one atomic())
and against the floor (abulk_create with the same Faker values; Faker alone for builds), then the
issue's targets, met or missed.

Then, on each database, three sections (four on PostgreSQL): the one-row create() shortcut
(N x await UserFactory.create() in autocommit against the same in a transaction, N=per_object_n); auth
users and password hashing (AuthUserFactory.create_batch(--auth-n) with PBKDF2 against MD5, the issue's
<= 2x target, and the
one-time cost of a first hash); and event-loop stalls (a heartbeat beside
FriendFactory.bulk_create_batch(--stalls-n) and create_batch(--stalls-n / 10), in the default GC state
and with gc.freeze(); run by default, with --quick only with --stalls). On PostgreSQL with Python 3.12+
and django-async-backend, the native engine (native.py): N x await create() against
N x await Model.async_objects.acreate() and the standard backend's, bulk_create_batch against abulk_create.
Modules: databases.py, variants.py, measure.py, figures.py, report.py, shortcut.py, auth.py, native.py, stalls.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from .databases import NAMES, ServerDatabase, SQLiteFile, UnavailableError, mask_url, server_url

STARTED = time.monotonic()
BACKENDS = ("sqlite", "postgresql", "mysql")
ALIASES = {"sqlite": "default", "postgresql": "postgresql", "mysql": "mysql"}
# (n, per_object_n, rounds); per_object_n: objects per call of the variants with a call or a commit per object.
MODES = {"quick": (60, 6, 5), "default": (1000, 100, 9)}
AUTH_N = 100  # users per AuthUserFactory.create_batch: the target is stated for 100
STALLS_N = 20_000  # Friends per bulk_create_batch in the stall section (create_batch makes a tenth)


def say(message: str = "") -> None:
    print(message, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    quick, default = MODES["quick"], MODES["default"]
    parser.add_argument(
        "--quick", action="store_true", help="n={}, {} per object, {} rounds: under a minute".format(*quick)
    )
    parser.add_argument("-n", "--n", type=int, help=f"objects per call (default {default[0]}; --quick {quick[0]})")
    parser.add_argument(
        "--per-object-n",
        type=int,
        help="objects per call of the variants with a call or a commit per object (default n/10)",
    )
    parser.add_argument("--rounds", type=int, help=f"every variant runs once per round (default {default[2]})")
    parser.add_argument("--seed", type=int, default=1, help="seeds the order of each round and the Faker values")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset of: %(default)s")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server to create the benchmark database on")
    parser.add_argument("--mysql", metavar="URL", help="MariaDB/MySQL server to create the benchmark database on")
    parser.add_argument("--uvloop", action="store_true", help="run the async variants on uvloop (default: asyncio)")
    parser.add_argument(
        "--auth-n", type=int, default=AUTH_N, help="users per AuthUserFactory.create_batch (default %(default)s)"
    )
    parser.add_argument(
        "--stalls",
        action=argparse.BooleanOptionalAction,
        help="measure the event-loop stalls (default: yes, but not with --quick)",
    )
    parser.add_argument(
        "--stalls-n",
        type=int,
        default=STALLS_N,
        help="Friends per bulk_create_batch in the stall section; create_batch makes a tenth (default %(default)s)",
    )
    parser.add_argument("--json", metavar="PATH", help="write every sample and figure as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown (docs/benchmark-results.md)")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "default"
    n, _, rounds = MODES[mode]
    args.n = n if args.n is None else args.n
    args.per_object_n = max(1, args.n // 10) if args.per_object_n is None else args.per_object_n
    args.rounds = rounds if args.rounds is None else args.rounds
    if (args.n, args.per_object_n, args.rounds) != MODES[mode]:
        mode = "custom"
    args.stalls = mode != "quick" if args.stalls is None else args.stalls
    args.mode = (
        f"{mode} mode: n={args.n}, per_object_n={args.per_object_n}, rounds={args.rounds}, auth_n={args.auth_n}, "
        + (f"stalls_n={args.stalls_n}" if args.stalls else "no stalls")
    )
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown or not args.backends:
        parser.error(f"unknown backend(s) {unknown}; choose from {', '.join(BACKENDS)}")
    if min(args.n, args.per_object_n, args.rounds, args.auth_n, args.stalls_n) < 1:
        parser.error("--n, --per-object-n, --rounds, --auth-n and --stalls-n must be positive")
    return args


def command_line(argv: list[str]) -> str:
    """The command as typed, with any URL's password masked."""
    return shlex.join(["python", "-m", "benchmarks", *(mask_url(a) if "://" in a else a for a in argv)])


@contextmanager
def event_loop(use_uvloop: bool) -> Iterator[asyncio.AbstractEventLoop]:
    loop: asyncio.AbstractEventLoop
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

        # Django's sync thread holds connections of its own: close them there.
        with suppress(Exception):
            loop.run_until_complete(sync_to_async(connections.close_all, thread_sensitive=True)())
        loop.close()
        connections.close_all()


def open_servers(
    args: argparse.Namespace, skipped: dict[str, str], cleanups: list[Callable[[], None]]
) -> list[ServerDatabase]:
    """Create a database on each server that answers; note the others in ``skipped``, loudly."""
    servers = []
    for backend in (b for b in args.backends if b != "sqlite"):
        try:
            server = ServerDatabase(
                backend, server_url(backend, args.postgres if backend == "postgresql" else args.mysql)
            )
            server.create()
            cleanups.insert(0, server.drop)
            servers.append(server)
        except UnavailableError as exc:
            skipped[NAMES[backend]] = str(exc)
            say(f"!!! {NAMES[backend]} SKIPPED: {exc} !!!")
    return servers


def run(
    args: argparse.Namespace,
    argv: list[str],
    sqlite: SQLiteFile,
    servers: list[ServerDatabase],
    skipped: dict[str, str],
) -> int:
    from . import native
    from .databases import configure_django, create_tables, server_version

    settings = {"default": sqlite.settings(), **{ALIASES[s.backend]: s.settings() for s in servers}}
    no_native = native.unavailable() if "postgresql" in settings else "no PostgreSQL server"
    if no_native is None:  # the run's PostgreSQL database again, through django-async-backend's engine
        settings[native.ALIAS] = native.database_settings(settings["postgresql"])
    configure_django(settings, native_engine=no_native is None)
    databases: dict[str, Any] = {"sqlite": sqlite, **{s.backend: s for s in servers}}
    backends = [b for b in args.backends if b in databases]
    if not backends:
        say("No database to measure.")
        return 1
    for backend in backends:
        create_tables(ALIASES[backend])

    from . import auth, report, shortcut, stalls
    from .measure import BackendResult, Progress, measure_backend, steps
    from .variants import MODELS, VARIANTS, make_context

    started, load = time.monotonic(), os.getloadavg()[0]
    per_backend = steps(MODELS, VARIANTS, args.rounds) + shortcut.steps(args.rounds) + auth.steps(args.rounds)
    native_steps = native.steps(args.rounds) if no_native is None and "postgresql" in backends else 0
    progress = Progress((per_backend + (stalls.steps() if args.stalls else 0)) * len(backends) + native_steps)
    results = []
    with event_loop(args.uvloop) as loop:
        try:
            for backend in backends:
                alias = ALIASES[backend]
                result = BackendResult(
                    backend,
                    databases[backend].describe(),
                    server_version(alias),
                    args.n,
                    args.per_object_n,
                    args.rounds,
                )
                context = make_context(alias)
                results.append(measure_backend(loop, context, result, MODELS, VARIANTS, args.seed, progress))
                result.sections["shortcut"] = shortcut.measure(
                    loop, context, backend, args.per_object_n, args.rounds, args.seed, progress
                )
                result.sections["auth"] = auth.measure(
                    loop, alias, backend, args.auth_n, args.rounds, args.seed, progress
                )
                if backend == "postgresql":
                    result.sections["native"] = (
                        {"unavailable": no_native}
                        if no_native
                        else native.measure(loop, alias, args.n, args.per_object_n, args.rounds, args.seed, progress)
                    )
                if args.stalls:  # after the others, which unfreeze the GC when they end: the default state
                    result.sections["stalls"] = stalls.measure(
                        loop, context, backend, args.stalls_n, args.seed, progress
                    )
        finally:
            progress.close()
    summaries = [report.summarize(result) for result in results]
    env = report.environment([summary["server"] for summary in summaries])
    env["load"] = f"load average {load:.1f} when the measuring started, {os.getloadavg()[0]:.1f} when it ended"
    payload = {
        "command": command_line(argv),
        "mode": args.mode,
        "n": args.n,
        "per_object_n": args.per_object_n,
        "rounds": args.rounds,
        "seed": args.seed,
        "auth_n": args.auth_n,
        "stalls_n": args.stalls_n if args.stalls else None,
        "environment": env,
        "skipped": skipped,
        "backends": summaries,
    }
    say(f"Benchmark of app.factory: {payload['command']} ({args.mode}), {env['date']}")
    say(f"{env['machine']}; {env['load']}")
    say(f"{env['python']}; {env['packages']}; {'uvloop' if args.uvloop else 'asyncio'} event loop")
    say(report.text_report(summaries, skipped))
    say(
        f"\nMeasured in {time.monotonic() - started:.0f} s; {time.monotonic() - STARTED:.0f} s in all, "
        f"{time.process_time():.0f} s of CPU."
    )
    if args.json:
        report.write_json(args.json, payload)
        say(f"Wrote {args.json}")
    if args.markdown:
        report.write_markdown(args.markdown, payload)
        say(f"Wrote {args.markdown}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    sqlite = SQLiteFile()
    skipped: dict[str, str] = {}
    cleanups: list[Callable[[], None]] = [sqlite.drop]
    try:
        servers = open_servers(args, skipped, cleanups)
        return run(args, argv, sqlite, servers, skipped)
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            cleanups.insert(0, connections.close_all)
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # report, and still run the other clean-ups
                print(f"benchmarks: clean-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
