"""``python manage.py seed app.factories.FriendFactory 100000``: fill a database from a factory.

The objects are made in chunks of ``--batch-size``: each chunk is one awaited
``bulk_create_batch(n)`` (``create_batch(n)`` with ``--create``), so one transaction. An error or
a Ctrl-C keeps the chunks committed before it, and nothing of the chunk in progress.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from typing import Any

import factory.random
from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router
from django.db.models import Model
from django.utils.connection import ConnectionDoesNotExist
from django.utils.module_loading import import_string
from factory.base import BaseFactory
from tqdm import tqdm  # type: ignore[import-untyped]

from app.factory import AsyncFactory, BulkCreateError
from app.management.masking import mask_secret

#: Objects per chunk (one transaction each). Larger chunks measured no faster (docs/seeding-figures.md)
#: and hold more memory; a Ctrl-C loses at most the chunk in progress.
DEFAULT_BATCH_SIZE = 1000
#: 128 + SIGINT: what a shell reports for a process ended by Ctrl-C.
EXIT_INTERRUPTED = 130
#: Without a terminal, a progress line per tenth of the objects, or after 10 s without one.
PLAIN_STEPS = 10
PLAIN_SECONDS = 10.0

Counts = dict[str, int]


class Interrupted(CommandError):  # noqa: N818 (Django prints this name before the message)
    """Ctrl-C: Django prints it as ``Interrupted: <message>`` and exits with its return code."""


class Command(BaseCommand):
    help = (
        "Create COUNT objects with an AsyncFactory (a dotted path such as app.factories.UserFactory), "
        "committed in chunks of --batch-size, each chunk one transaction. Uses bulk_create_batch "
        "(--create: create_batch). Ctrl-C keeps the whole chunks already committed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("factory", help="dotted path of an AsyncFactory subclass, e.g. app.factories.UserFactory")
        parser.add_argument("count", help="how many objects the factory makes (0 or more; 1_000_000 works)")
        parser.add_argument(
            "--create",
            action="store_true",
            help="use create_batch (model save(), pre_save/post_save signals) instead of bulk_create_batch",
        )
        parser.add_argument(
            "--batch-size",
            default=DEFAULT_BATCH_SIZE,
            metavar="N",
            help=f"objects per chunk; each chunk is one transaction (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument(
            "--seed",
            metavar="N",
            help="seed factory_boy's random generator (fuzzy attributes, Faker) and Python's random module",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if _loop_is_running():
            raise CommandError(
                "seed runs its own event loop, so it cannot run inside one; from async code call it as "
                "`await sync_to_async(call_command)('seed', ...)`."
            )
        seeding: _Seeding | None = None
        try:
            factory_class = load_factory(str(options["factory"]))
            count = whole_number(options["count"], "COUNT", minimum=0)
            batch_size = whole_number(options["batch_size"], "--batch-size", minimum=1)
            seed = None if options["seed"] is None else whole_number(options["seed"], "--seed")
            seeding = _Seeding(factory_class, count, batch_size, create=options["create"])
            if seed is not None:
                factory.random.reseed_random(seed)  # fuzzy attributes and Faker's shared generator
                random.seed(seed)  # declarations that call the random module themselves
            seeding.run(self.stderr if options["verbosity"] > 0 else None)
            if options["verbosity"] > 0:
                self.stdout.write(seeding.summary())
        except KeyboardInterrupt:
            raise interrupted(seeding) from None


class _Seeding:
    """One run: the factory, the database, and what is committed so far."""

    def __init__(self, factory_class: type[AsyncFactory[Any]], count: int, batch_size: int, *, create: bool) -> None:
        self.factory_class = factory_class
        self.count = count
        self.batch_size = batch_size
        self.method = "create_batch" if create else "bulk_create_batch"
        options: Any = factory_class._meta
        self.alias: str = options.database
        self.model_label: str = options.get_model_class()._meta.label
        self.database = check_database(self.alias)
        self.models = [m for m in apps.get_models() if router.allow_migrate_model(self.alias, m)]
        self.before = self.count_rows()
        self.started = False  # True once the first chunk may have begun: rows may have been written
        self.confirmed = 0  # objects of chunks whose call has returned: committed
        self.waiting = False  # waiting for the ORM thread to finish its chunk
        # Databases the ORM thread had a connection to before the run (all, until known): not ours to close.
        self.open_before: set[str] = set(connections.settings)
        self.seconds = 0.0
        self.after: Counts | None = None

    def run(self, progress_to: OutputWrapper | None) -> None:
        """Make the objects, chunk by chunk, in one event loop; then count the rows."""
        progress = _Progress(progress_to, self.count, self.model_label)
        started = time.perf_counter()
        try:
            self.started = True
            asyncio.run(self._chunks(progress))
        except Exception as exc:
            progress.close()
            raise self._failed(exc) from exc
        finally:
            progress.close()
            self.seconds = time.perf_counter() - started
        self.after = self.count_rows()

    async def _chunks(self, progress: _Progress) -> None:
        make = getattr(self.factory_class, self.method)
        self.open_before = await sync_to_async(_open_connections, thread_sensitive=True)()
        try:
            while self.confirmed < self.count:
                size = min(self.batch_size, self.count - self.confirmed)
                await make(size)  # the objects are not kept: memory stays flat
                self.confirmed += size
                progress.update(size)
        finally:
            # Waits for the ORM thread (after a Ctrl-C, for the chunk it may still be running),
            # then closes the connections the run opened there. A Ctrl-C during this wait ends it,
            # and leaves ``waiting`` set.
            self.waiting = True
            await self.close_connections()
            self.waiting = False

    async def close_connections(self) -> None:
        """In the ORM thread, once it is idle: close the connections this run opened there."""
        await sync_to_async(_close_connections, thread_sensitive=True)(self.open_before)

    def count_rows(self) -> Counts:
        """Rows per model in the factory's database (each model's base manager: no filtering)."""
        counts: Counts = {}
        for model in self.models:
            try:
                counts[model._meta.label] = model._base_manager.using(self.alias).count()
            except DatabaseError as exc:
                raise CommandError(
                    f"cannot count the rows of {model._meta.label} in the {self.database}: {reason(exc, self.alias)}. "
                    "Is its table missing? Run `python manage.py migrate` first."
                ) from exc
        return counts

    def added(self, after: Counts) -> Counts:
        """Rows added (or removed) per model since the start, changed models only, largest first."""
        changes = {label: rows - self.before.get(label, 0) for label, rows in after.items()}
        return dict(sorted(((k, v) for k, v in changes.items() if v), key=lambda item: (-item[1], item[0])))

    def summary(self) -> str:
        """What was made, the rows added per model, the rates and the peak memory."""
        assert self.after is not None
        added = self.added(self.after)
        rows = sum(added.values())
        chunks = -(-self.count // self.batch_size)
        width = max((len(label) for label in added), default=5)
        lines = [
            f"Seeded {self.count:,} {self.model_label} objects with {_path(self.factory_class)} "
            f"in {self.seconds:.1f} s ({rate(self.count, self.seconds)} objects/s): {chunks:,} chunk(s) of up to "
            f"{self.batch_size:,}, each one {self.method} transaction.",
            f"Rows added to the {self.database}:",
            *(f"  {label:<{width}}  {rows_added:+,}" for label, rows_added in added.items()),
            f"  {'total':<{width}}  {rows:+,} rows, {rate(rows, self.seconds)} rows/s",
        ]
        peak = peak_rss_mb()
        if peak is not None:
            lines.append(f"Peak memory (RSS) of this process: {peak:,.0f} MB.")
        return "\n".join(lines)

    def _failed(self, exc: Exception) -> CommandError:
        """The error of a chunk, which rolled back, with what the chunks before it kept."""
        first = self.confirmed + 1
        last = min(self.confirmed + self.batch_size, self.count)
        try:
            kept = self.kept(self.count_rows())
            kept = kept[0].upper() + kept[1:]
        except CommandError:
            kept = "Could not count the rows kept"
        fix = " With this command: add --create." if isinstance(exc, BulkCreateError) else ""
        return CommandError(
            f"{self.factory_class.__name__}.{self.method}({last - first + 1:,}) failed on objects {first:,} to "
            f"{last:,}, and that chunk was rolled back: {reason(exc, self.alias)}.{fix} {kept}. "
            "Add --traceback to see where it failed."
        )

    def kept(self, now: Counts) -> str:
        """``kept N rows in the <database>, ...``: what the committed chunks left, counted in ``now``."""
        added = self.added(now)
        if not added:
            return f"kept no rows in the {self.database}: no chunk had been committed"
        listed = ", ".join(f"{label} {rows:+,}" for label, rows in added.items())
        return f"kept {sum(added.values()):,} rows in the {self.database}, from whole committed chunks ({listed})"


def interrupted(seeding: _Seeding | None) -> Interrupted:
    """The message for a Ctrl-C: what was kept, counted in the database once the ORM thread is idle."""
    if seeding is None or not seeding.started:
        return Interrupted("nothing was written.", returncode=EXIT_INTERRUPTED)
    try:
        if seeding.waiting:  # a Ctrl-C ended that wait: do not start another
            raise KeyboardInterrupt
        # The chunk in progress runs in the ORM thread: wait for it to commit or roll back.
        asyncio.run(seeding.close_connections())
        now = seeding.count_rows()
    except KeyboardInterrupt:
        return Interrupted(
            f"{seeding.confirmed:,} of {seeding.count:,} {seeding.model_label} objects were committed in whole "
            "chunks; did not wait for the chunk in progress (it commits or rolls back whole).",
            returncode=EXIT_INTERRUPTED,
        )
    except CommandError as exc:
        return Interrupted(
            f"{seeding.confirmed:,} objects were committed in whole chunks ({exc}).", returncode=EXIT_INTERRUPTED
        )
    return Interrupted(
        f"{seeding.kept(now)}; no chunk is half written. {seeding.count:,} {seeding.model_label} objects "
        "were asked for.",
        returncode=EXIT_INTERRUPTED,
    )


class _Progress:
    """A tqdm bar when the stream is a terminal; otherwise a plain line per 10% or 10 s."""

    def __init__(self, out: OutputWrapper | None, total: int, label: str) -> None:
        self.out, self.total, self.label = out, total, label
        self.done = 0
        self.started = self.last_time = time.perf_counter()
        self.next_step = 1  # the next tenth of the objects to report
        self.bar: Any = None
        if out is not None and out.isatty():
            self.bar = tqdm(total=total, desc=label, unit=" obj", unit_scale=True, file=_Raw(out), ncols=_width(out))

    def update(self, size: int) -> None:
        self.done += size
        if self.bar is not None:
            self.bar.update(size)
            return
        now = time.perf_counter()
        if self.out is None or self.total == 0:
            return
        step_reached = self.done * PLAIN_STEPS >= self.next_step * self.total
        if step_reached or now - self.last_time >= PLAIN_SECONDS or self.done == self.total:
            self.next_step = self.done * PLAIN_STEPS // self.total + 1
            self.last_time = now
            seconds = now - self.started
            self.out.write(
                f"seed: {self.done:,}/{self.total:,} {self.label} ({self.done / self.total:.0%}), "
                f"{rate(self.done, seconds)} objects/s, {seconds:.1f} s",
                style_func=_plain,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Raw:
    """An OutputWrapper as tqdm's file: no added newline, no error colour."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, style_func=_plain, ending="")

    def flush(self) -> None:
        self.out.flush()

    @property
    def encoding(self) -> str | None:
        return getattr(self.out, "encoding", None)  # tqdm draws a unicode bar when it is UTF-8


def _open_connections() -> set[str]:
    """The databases this thread has an open connection to."""
    return {conn.alias for conn in connections.all(initialized_only=True) if conn.connection is not None}


def _close_connections(keep: set[str]) -> None:
    """Close this thread's connections except ``keep`` (open before: a test's, say) and any in a transaction."""
    for conn in connections.all(initialized_only=True):
        if conn.alias not in keep and not conn.in_atomic_block:
            conn.close()


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _plain(text: str) -> str:
    return text


def _width(out: OutputWrapper) -> int | None:
    """The terminal's width, once (tqdm's dynamic width draws nothing where the height reads 0)."""
    try:
        columns = os.get_terminal_size(out.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
    return columns - 1 if columns > 20 else None


def load_factory(path: str) -> type[AsyncFactory[Any]]:
    """The AsyncFactory subclass at ``path``, or a CommandError that says what to give instead."""
    example = "Give the dotted path of an AsyncFactory subclass, e.g. app.factories.UserFactory."
    try:
        target = import_string(path)
    except ImportError as exc:
        raise CommandError(f"cannot import {path!r}: {exc}. {example}") from exc
    except Exception as exc:  # the module itself fails: a model outside INSTALLED_APPS, a NameError...
        raise CommandError(
            f"importing {path!r} failed: {reason(exc, DEFAULT_DB_ALIAS)}. Add --traceback to see where."
        ) from exc
    if isinstance(target, type) and issubclass(target, AsyncFactory):
        if target._meta.abstract:
            raise CommandError(
                f"{path} is an abstract factory (Meta.abstract, or no Meta.model): it makes no objects. "
                f"Give a concrete subclass, or set {target.__name__}.Meta.model."
            )
        return target
    if isinstance(target, type) and issubclass(target, BaseFactory):
        model = getattr(target._meta, "model", None)
        name = model.__name__ if isinstance(model, type) else "YourModel"
        raise CommandError(
            f"{path} is a plain factory_boy factory; seed needs an AsyncFactory. Fix: subclass "
            f"app.factory.AsyncFactory instead (class {target.__name__}(AsyncFactory[{name}])); "
            "the declarations stay the same."
        )
    what = "a Django model" if isinstance(target, type) and issubclass(target, Model) else f"a {type(target).__name__}"
    raise CommandError(f"{path} is {what}, not a factory. {example}")


def whole_number(value: object, name: str, *, minimum: int | None = None) -> int:
    """``value`` (text from the command line, or an int from call_command) as an int, checked."""
    bound = "" if minimum is None else f", {minimum} or more"
    try:
        number = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value))
    except ValueError:
        raise CommandError(f"{name} must be a whole number{bound}, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise CommandError(f"{name} must be a whole number{bound}, not {number}.")
    return number


def check_database(alias: str) -> str:
    """Connect to ``alias`` and describe it (vendor, name, host; never user or password)."""
    try:
        connection = connections[alias]
    except ConnectionDoesNotExist:
        raise CommandError(
            f"the factory's Meta.database is {alias!r}, which settings.DATABASES does not define."
        ) from None
    except ImproperlyConfigured as exc:  # a missing database driver
        raise CommandError(f"cannot use database {alias!r}: {reason(exc, alias)}.") from None
    settings = connection.settings_dict
    where = f" on {settings['HOST']}:{settings['PORT'] or 'default port'}" if settings.get("HOST") else ""
    described = f"{connection.vendor} database {str(settings['NAME'])!r}{where}"
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        raise CommandError(
            f"cannot connect to the {described}: {reason(exc, alias)}. "
            "Check DATABASE_URL (or settings.DATABASES); nothing was written."
        ) from None
    return described


def reason(exc: BaseException, alias: str) -> str:
    """``Type: first line of the message``, on one line, without the database password."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {' '.join(lines[0].split()) if lines else ''}".rstrip(" .:")
    password = connections.settings[alias].get("PASSWORD") if alias in connections.settings else None
    return mask_secret(text, str(password)) if password else text


def rate(amount: int, seconds: float) -> str:
    return f"{amount / seconds:,.0f}" if seconds > 0 else "-"


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MB (None where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def _path(factory_class: type[Any]) -> str:
    return f"{factory_class.__module__}.{factory_class.__qualname__}"
