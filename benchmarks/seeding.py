"""Figures of ``manage.py seed`` (speed, CPU time, peak memory, a sample output, a Ctrl-C), as a Markdown page.

    python -m benchmarks.seeding --markdown docs/seeding-figures.md            # 5-10 minutes on 2 CPUs
    python -m benchmarks.seeding --quick --markdown /tmp/seeding-figures.md    # counts / 100, one round: a minute

It creates a scratch database on the PostgreSQL server (--postgres, else DATABASE_URL, else
TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/test; ``benchmarks.databases``), migrates
it, runs ``python manage.py seed`` in subprocesses as a user would (tables emptied between runs),
reads each run's summary from its stdout and its CPU time from the OS, and drops the database at
the end, also after an error or a Ctrl-C. No other database is read or changed; no password is printed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import resource
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.management.masking import mask_password

from .databases import CONNECT_TIMEOUT, ServerDatabase, UnavailableError, mask_url, psycopg_login, server_url
from .figures import cpu_model

ROOT = Path(__file__).resolve().parent.parent
EXIT_UNAVAILABLE = 3  # the server cannot be used (a bad URL, no answer, no right to create a database)
USER, FRIEND = "app.factories.UserFactory", "app.factories.FriendFactory"
TABLES = "app_friend, app_profile, app_user"  # what the demo factories write to
BATCH_SIZES = (100, 1000, 5000, 10000)
CTRL_C_COUNT, CTRL_C_BATCH = 100_000, 5000  # the Ctrl-C run; it is interrupted after its first chunk
# manage.py with SIGINT's default handler (a process started from a non-interactive shell may inherit it ignored).
WITH_SIGINT = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['manage.py', *sys.argv[1:]])"
)
SUMMARY = re.compile(
    r"in (?P<seconds>[\d.]+) s \((?P<objects_per_s>[\d,]+) objects/s\).*?"
    r"total\s+\+(?P<rows>[\d,]+) rows, (?P<rows_per_s>[\d,]+) rows/s\n"
    r"Peak memory \(RSS\) of this process: (?P<peak_mb>[\d,]+) MB",
    re.DOTALL,
)


@dataclass(frozen=True)
class Run:
    """One ``manage.py seed`` run: its figures as the summary printed them, and the child's CPU time."""

    factory: str
    count: int
    options: tuple[str, ...]
    output: str  # stderr (progress) then stdout (summary), the password masked
    seconds: str
    objects_per_s: str
    rows: str
    rows_per_s: str
    peak_mb: str
    cpu: float  # user + system seconds of the child process, start-up included

    @property
    def command(self) -> str:
        return shlex.join(["python", "manage.py", "seed", self.factory, str(self.count), *self.options])

    @property
    def label(self) -> str:
        extra = " ".join(o for o in self.options if o == "--create")
        return f"{self.count:,} `{self.factory.rsplit('.', 1)[1]}{' ' + extra if extra else ''}`"


class Bench:
    """The scratch database, the children's environment, and the runs."""

    def __init__(self, server: ServerDatabase, url: str) -> None:
        self.server = server
        self.url = url  # only to mask the password
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAME")}
        scratch = urlsplit(url)._replace(path=f"/{server.name}").geturl()
        self.env = {**env, "DATABASE_URL": scratch, "DJANGO_SETTINGS_MODULE": "settings"}

    def connect(self) -> Any:
        """A psycopg connection to the scratch database (keyword arguments: no URL a driver could quote back)."""
        import psycopg

        login = psycopg_login(self.server.config)
        return psycopg.connect(dbname=self.server.name, autocommit=True, connect_timeout=CONNECT_TIMEOUT, **login)

    def sql(self, statement: str) -> Any:
        """Run ``statement`` on the scratch database; the first column of its first row, if any."""
        with self.connect() as connection:
            cursor = connection.execute(statement)
            return cursor.fetchone()[0] if cursor.description else None

    def mask(self, text: str) -> str:
        return mask_password(text, self.url)

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode:
            tail = self.mask((result.stderr or result.stdout).strip()[-2000:])
            raise RuntimeError(f"`python manage.py {shlex.join(args)}` exited with {result.returncode}: {tail}")
        return result

    def seed(self, factory: str, count: int, *options: str) -> Run:
        """Empty the tables, run the command, read its summary."""
        self.sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = self.manage("seed", factory, str(count), *options)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        found = SUMMARY.search(result.stdout)
        if found is None:
            raise RuntimeError(f"no summary in the output of seed {factory} {count}: {self.mask(result.stdout)}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        run = Run(factory, count, options, self.mask(result.stderr + result.stdout), **found.groupdict(), cpu=cpu)
        say(f"  {run.command}: {run.seconds} s, {run.objects_per_s} objects/s, {cpu:.1f} s CPU, {run.peak_mb} MB")
        return run

    def ctrl_c(self, batch: int) -> dict[str, Any]:
        """``seed FriendFactory`` interrupted by SIGINT once its first chunk is committed."""
        self.sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        args = ["seed", FRIEND, str(CTRL_C_COUNT), "--batch-size", str(batch)]
        child = subprocess.Popen(
            [sys.executable, "-c", WITH_SIGINT, *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            started = time.monotonic()
            with self.connect() as connection:
                while (committed := connection.execute("SELECT count(*) FROM app_friend").fetchone()[0]) < batch:
                    if child.poll() is not None:
                        raise RuntimeError(f"the Ctrl-C run ended by itself: {self.mask(child.communicate()[1])}")
                    time.sleep(0.02)
            child.send_signal(signal.SIGINT)
            sent = time.monotonic()
            out, err = child.communicate(timeout=600)
            delay = time.monotonic() - sent
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        lines = self.mask(err).strip().splitlines()
        command = shlex.join(["python", "manage.py", *args])
        say(f"  {command}: Ctrl-C after {sent - started:.1f} s, exited {child.returncode} {delay:.2f} s later")
        return {
            "command": command,
            "after": sent - started,
            "committed": committed,
            "delay": delay,
            "exit": child.returncode,
            "kept": self.sql("SELECT count(*) FROM app_friend"),
            "output": self.mask(err + out),
            "last": lines[-1] if lines else "",
        }


def say(message: str) -> None:
    print(message, flush=True)


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def measure(bench: Bench, quick: bool) -> dict[str, Any]:
    """Every run, in order: the main runs, the chunk sizes (rounds interleaved), the Ctrl-C."""
    scale = 100 if quick else 1
    main: list[tuple[str, int, tuple[str, ...]]] = [
        (USER, 100_000, ()),
        (USER, 1_000_000, ()),
        (FRIEND, 100_000, ()),
        (USER, 50_000, ("--create",)),
        (FRIEND, 20_000, ("--create",)),
    ]
    runs = [bench.seed(factory, count // scale, *options) for factory, count, options in main]
    chunks: dict[tuple[str, int], list[Run]] = {}
    for round_ in range(1 if quick else 2):
        for size in BATCH_SIZES if round_ % 2 == 0 else reversed(BATCH_SIZES):  # the second round backwards
            for factory, count in ((USER, 50_000), (FRIEND, 20_000)):
                run = bench.seed(factory, count // scale, "--batch-size", str(size))
                chunks.setdefault((factory, size), []).append(run)
    return {"runs": runs, "chunks": chunks, "ctrl_c": bench.ctrl_c(CTRL_C_BATCH // scale)}


MODELS = ("User", "Friend")
CHUNK_VALUES = (lambda r: f"{r.cpu:,.1f}", lambda r: r.seconds, lambda r: r.peak_mb)  # the chunk table's cells


def table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    rule = ["---" if i < right_from else "---:" for i in range(len(header))]
    return [f"| {' | '.join(row)} |" for row in (header, rule, *rows)]


def markdown(command: str, mode: str, env: dict[str, Any], figures: dict[str, Any]) -> str:
    runs: list[Run] = figures["runs"]
    chunks: dict[tuple[str, int], list[Run]] = figures["chunks"]
    stop = figures["ctrl_c"]
    users = [run for run in runs if run.factory == USER and not run.options]
    sample = next(run for run in runs if run.factory == FRIEND and not run.options)
    rounds = len(next(iter(chunks.values())))

    def each(key: tuple[str, int], value: Any) -> str:
        return ", ".join(value(run) for run in chunks[key])

    lines = [
        f"<!-- generated by `{command}`: do not edit -->",
        "",
        f"# `manage.py seed`: speed and memory{' (quick mode)' if 'quick' in mode else ''}",
        "",
        f"- Date: {env['date']}",
        f"- Machine: {env['machine']}; load average (1, 5, 15 min) {env['load_start']} at the start, "
        f"{env['load_end']} at the end",
        f"- {env['versions']}",
        f"- Command: `{command}` ({mode}; {env['took']:,.0f} s in all)",
        "",
        "Each run is `python manage.py seed` in a subprocess of the generator, on a scratch database it "
        "created and migrated, from empty tables (`TRUNCATE ... RESTART IDENTITY` before each run). Time, "
        "objects/s, rows/s and peak RSS are what the command's summary printed; CPU time is the child "
        "process's user + system time, its start-up included.",
        "",
        "## Runs with the default chunks of 1,000",
        "",
        *table(
            ["Run", "Time", "Objects/s", "Rows", "Rows/s", "CPU time", "Peak RSS"],
            [
                [r.label, f"{r.seconds} s", r.objects_per_s, r.rows, r.rows_per_s, f"{r.cpu:,.1f} s", f"{r.peak_mb} MB"]
                for r in runs
            ],
        ),
        "",
        "## Memory against the number of rows",
        "",
        "The peak RSS and the CPU time per object of the `UserFactory` runs above, side by side (peak RSS "
        + " and ".join(f"{r.peak_mb} MB at {r.count:,} objects" for r in users)
        + "):",
        "",
        *table(
            ["`UserFactory` objects", "Peak RSS", "CPU µs per object"],
            [[f"{r.count:,}", f"{r.peak_mb} MB", f"{r.cpu / r.count * 1e6:,.0f}"] for r in users],
        ),
        "",
        "## Chunk size",
        "",
        f"{chunks[(USER, BATCH_SIZES[0])][0].count:,} `User` and {chunks[(FRIEND, BATCH_SIZES[0])][0].count:,} "
        f"`Friend` objects per run, {rounds} round{'s' if rounds > 1 else ''}, interleaved (each round runs "
        "every size for both factories"
        f"{'; the second round goes from the largest size down' if rounds > 1 else ''}); one value per round, "
        "in round order. CPU time is the child process's, which the machine's load disturbs less than the time.",
        "",
        *table(
            ["`--batch-size`", *(f"`{m}` {what}" for what in ("CPU s", "time s", "peak RSS MB") for m in MODELS)],
            [
                [f"{size:,}", *(each((f, size), value) for value in CHUNK_VALUES for f in (USER, FRIEND))]
                for size in BATCH_SIZES
            ],
        ),
        "",
        "## A run's output",
        "",
        f"The output of the `{sample.command}` run above: stderr is not a terminal, so the progress is plain "
        "lines, then the summary on stdout.",
        "",
        "```text",
        f"$ {sample.command}",
        sample.output.rstrip(),
        "```",
        "",
        "## Ctrl-C",
        "",
        f"`{stop['command']}`, sent SIGINT once its first chunk was committed (the row count of `app_friend` "
        "polled every 20 ms), then left to exit:",
        "",
        *table(
            ["SIGINT sent (from the start)", "`Friend` rows then", "Exit after SIGINT", "Exit code", "Rows kept"],
            [
                [
                    f"{stop['after']:,.1f} s",
                    f"{stop['committed']:,}",
                    f"{stop['delay']:,.2f} s",
                    str(stop["exit"]),
                    f"{stop['kept']:,} `Friend`",
                ]
            ],
            right_from=0,
        ),
        "",
        "Its stderr:",
        "",
        "```text",
        f"$ {stop['command']}",
        stop["output"].rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.seeding", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--markdown", metavar="PATH", help="write the page there (default: print it)")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server to create the scratch database on")
    parser.add_argument("--quick", action="store_true", help="counts divided by 100, one round of chunk sizes")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.seeding", *(mask_url(a) if "://" in a else a for a in argv)])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # drop the database on a kill too
    started, load_start = time.monotonic(), load()
    url = server_url("postgresql", args.postgres)
    try:
        server = ServerDatabase("postgresql", url)
        server.create()
    except UnavailableError as exc:
        print(f"benchmarks.seeding: PostgreSQL cannot be used: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        say(f"Scratch database: {server.describe()}")
        bench = Bench(server, url)
        bench.manage("migrate", "--no-input", "-v", "0")
        versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("Django", "factory_boy", "Faker"))
        env: dict[str, Any] = {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.platform()}",
            "versions": f"Python {platform.python_version()}, {versions}, "
            f"{bench.sql('SELECT version()').split(' on ')[0]} on {server.config.get('HOST') or 'localhost'}",
        }
        figures = measure(bench, args.quick)
    except RuntimeError as exc:
        print(f"benchmarks.seeding: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("benchmarks.seeding: interrupted; no page written", file=sys.stderr)
        return 130
    finally:
        server.drop()
        say(f"Dropped the scratch database {server.name}")
    env.update(load_start=load_start, load_end=load(), took=time.monotonic() - started)
    mode = "quick mode: counts and the Ctrl-C run's chunk divided by 100, one round" if args.quick else "default mode"
    page = mask_password(markdown(command, mode, env, figures), url)
    if args.markdown:
        Path(args.markdown).write_text(page)
        say(f"Wrote {args.markdown} in {env['took']:,.0f} s")
    else:
        say(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
