#!/usr/bin/env python3
"""One-command set-up and tasks: each creates the virtualenv and installs what it needs.

    python3 dev.py demo     run main.py (the async factory demo)
    python3 dev.py test     the test suite on SQLite, PostgreSQL and MariaDB/MySQL
    python3 dev.py lint     ruff and mypy
    python3 dev.py bench    the benchmark (arguments after `bench` go to it)

The virtualenv lives in .venv/<python version>/, one per interpreter, so the same checkout can
be tested with several Pythons (`python3.13 dev.py test`). The servers for the tests come from
TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) and TEST_MYSQL_URL (default
mysql://root@127.0.0.1:3306/test); the tests create and drop their own test_<name> database
there. A server that cannot be used is skipped, loudly and saying why, except with CI=true,
where that is a failure. `demo` installs mysqlclient only for a mysql:// DATABASE_URL.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from app.management.masking import mask_password  # standard library only

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv" / f"py{sys.version_info[0]}.{sys.version_info[1]}"
PYTHON = VENV / "bin" / "python"
SERVERS = [  # (name, environment variable, default URL) of the servers the tests run on after SQLite
    ("PostgreSQL", "TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
    ("MariaDB", "TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
]
MYSQLCLIENT_HINT = (
    "mysqlclient (the MariaDB/MySQL driver) builds against the client library: install it and pkg-config "
    "(`sudo apt-get install libmariadb-dev pkg-config`, or `brew install mariadb-connector-c pkg-config`), "
    "then run dev.py again"
)


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def requirement_files(name: str) -> list[Path]:
    """The file and those it includes with -r, recursively."""
    files, pending = [], [ROOT / name]
    while pending:
        path = pending.pop()
        if path not in files:
            files.append(path)
            for line in path.read_text().splitlines():
                included = re.match(r"\s*(?:-r|--requirement)[\s=]+(\S+)", line)
                if included:
                    pending.append(path.parent / included.group(1))
    return files


def ensure_venv(*requirements: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"dev.py: Python 3.11+ is required (this is {sys.version.split()[0]})")
    files = [f for name in requirements for f in requirement_files(name)]
    stamp_value = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{'+'.join(requirements)}"
    if stamp.exists() and stamp.read_text() == stamp_value:
        return
    if not PYTHON.exists():
        say(f"creating virtualenv {VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    say(f"installing {', '.join(requirements)} into {VENV.relative_to(ROOT)}")
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    pip = [str(PYTHON), "-m", "pip", "install", "-q", *(a for name in requirements for a in ("-r", str(ROOT / name)))]
    done = subprocess.run(pip, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr, end="", file=sys.stderr)
        mysqlclient = "mysqlclient" in done.stdout + done.stderr
        sys.exit(f"dev.py: pip install failed: {MYSQLCLIENT_HINT if mysqlclient else 'see above'}.")
    stamp.write_text(stamp_value)


def run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, env={**os.environ, **(env or {})}).returncode


# Run in the virtualenv with the project's settings. It reaches the server as pytest-django does
# to create test_<name> (Django's _nodb_cursor: PostgreSQL's "postgres" database, no database on
# MySQL), so a database that does not exist yet is no reason to skip. Prints one line.
PROBE = """
import sys
where = ""
try:
    from django.conf import settings
    db = settings.DATABASES["default"]
except Exception as exc:  # settings.py's ImproperlyConfigured for a bad URL quotes no part of it
    sys.exit(f"cannot parse the URL: {exc}")
try:
    db.setdefault("OPTIONS", {})["connect_timeout"] = 5
    where = f" at {db['HOST'] or 'localhost'}:{db['PORT'] or 'its default port'} as {db['USER'] or 'no user'!r}"
    from django.db import connection
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        version = " ".join(cursor.fetchone()[0].split()[:2])
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        else:
            cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [db["NAME"]])
        exists = cursor.fetchone() is not None
except Exception as exc:
    sys.exit(f"cannot use the server{where}: {type(exc).__name__}: {' '.join(str(exc).split())}")
test_name = connection.settings_dict["TEST"]["NAME"] or "test_" + db["NAME"]
state = "exists" if exists else "does not exist (not needed)"
print(f"the server answers{where} ({version}); database {db['NAME']!r} {state}; the tests use {test_name!r}")
"""


def probe(url: str, python: str | Path = PYTHON) -> tuple[bool, str]:
    """Whether the server of ``url`` can be used for the tests, and a one-line message saying why."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "settings"}
    try:
        done = subprocess.run([str(python), "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "the probe got no answer in 60 s"
    lines = (done.stdout if done.returncode == 0 else done.stderr).strip().splitlines()
    return done.returncode == 0, mask_password(lines[-1] if lines else "the probe printed nothing", url)


def test(args: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    results: dict[str, str] = {}
    say("tests on SQLite")
    results["SQLite"] = "passed" if run("-m", "pytest", *args, env={"DATABASE_URL": ""}) == 0 else "FAILED"

    for name, variable, default in SERVERS:
        url = os.environ.get(variable) or default
        usable, message = probe(url)
        shown = mask_password(url, url)
        if usable:
            say(f"tests on {name}: {message}")
            results[name] = "passed" if run("-m", "pytest", *args, env={"DATABASE_URL": url}) == 0 else "FAILED"
        elif os.environ.get("CI") == "true":
            say(f"!!! {name}: {message}. With CI=true that is a failure. Set {variable} (now {shown}). !!!")
            results[name] = "FAILED (server not usable)"
        else:
            say(f"!!! {name} tests are SKIPPED: {message}. Set {variable} (now {shown}). !!!")
            results[name] = "SKIPPED (server not usable)"
    say("summary: " + ", ".join(f"{name} {outcome}" for name, outcome in results.items()))
    return 1 if any("FAILED" in outcome for outcome in results.values()) else 0


def lint(args: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    codes = [
        run("-m", "ruff", "check", "."),
        run("-m", "ruff", "format", "--check", "."),
        run("-m", "mypy", "app", "tests/typing_checks.py", "main.py", "settings.py"),
    ]
    return max(codes)


def main() -> int:
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "demo":
        mysql = os.environ.get("DATABASE_URL", "").startswith(("mysql:", "mysql2:", "mysqlgis:"))
        ensure_venv("requirements.txt", *(["requirements-mysql.txt"] if mysql else []))
        return run("main.py", *args)
    if command == "test":
        return test(args)
    if command == "lint":
        return lint(args)
    if command == "bench":
        ensure_venv("requirements-dev.txt")
        return run("-m", "benchmarks", *args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
