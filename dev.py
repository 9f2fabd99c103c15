#!/usr/bin/env python3
"""One-command set-up and tasks: each creates the virtualenv and installs what it needs.

    python3 dev.py demo             run main.py (the async factory demo)
    python3 dev.py test             the test suite on SQLite, PostgreSQL and MariaDB/MySQL
    python3 dev.py manage ARGS...   manage.py in the virtualenv, e.g. `manage seed app.factories.UserFactory 1000`
    python3 dev.py lint             ruff and mypy
    python3 dev.py bench            the benchmark (arguments after `bench` go to it)

The virtualenv lives in .venv/<python version>/, one per interpreter, so the same checkout can
be tested with several Pythons (`python3.13 dev.py test`). The servers for the tests come from
TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) and TEST_MYSQL_URL (default
mysql://root@127.0.0.1:3306/test); the tests create and drop their own test_<name> database
there. A server that cannot be used is skipped, loudly and saying why, except with CI=true,
where that is a failure.

The MariaDB/MySQL driver: PyMySQL (pure Python) is always installed for the tests, and for
`demo`/`manage` with a mysql:// DATABASE_URL. mysqlclient, the driver Django documents, is added
when MariaDB is to be used and pkg-config finds the client library it compiles against;
settings.py uses it when it can be imported, else PyMySQL. With CI=true, the tests require it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
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
    "mysqlclient compiles against the MariaDB/MySQL client library: install it and pkg-config "
    "(`sudo apt-get install libmariadb-dev pkg-config`, or `brew install mariadb-connector-c pkg-config`), "
    "and a C compiler with Python's headers, then run dev.py again."
)
# The pkg-config packages mysqlclient's setup.py looks for, in its order.
CLIENT_LIBRARIES = ("mysqlclient", "mariadb", "libmariadb", "perconaserverclient")


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


def stamp(*requirements: str) -> tuple[Path, str]:
    """The file that records an installation of ``requirements``, and the value it holds when they are installed."""
    files = [f for name in requirements for f in requirement_files(name)]
    return VENV / f".installed-{'+'.join(requirements)}", hashlib.sha256(
        b"".join(f.read_bytes() for f in files)
    ).hexdigest()


def installed(*requirements: str) -> bool:
    """Whether the virtualenv holds ``requirements`` as they are now."""
    path, value = stamp(*requirements)
    return path.exists() and path.read_text() == value


def install(*requirements: str) -> str | None:
    """Install the requirement files into the virtualenv, each set with its own stamp; pip's output if it fails."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"dev.py: Python 3.11+ is required (this is {sys.version.split()[0]})")
    if installed(*requirements):
        return None
    if not PYTHON.exists():
        say(f"creating virtualenv {VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    say(f"installing {', '.join(requirements)} into {VENV.relative_to(ROOT)}")
    pip = [str(PYTHON), "-m", "pip", "install", "-q", *(a for name in requirements for a in ("-r", str(ROOT / name)))]
    done = subprocess.run(pip, capture_output=True, text=True)
    if done.returncode != 0:
        return done.stdout + done.stderr
    path, value = stamp(*requirements)
    path.write_text(value)
    return None


def ensure_venv(*requirements: str) -> None:
    """Install ``requirements``, or exit saying why pip could not."""
    failure = install(*requirements)
    if failure is not None:
        print(failure, end="", file=sys.stderr)
        sys.exit("dev.py: pip install failed: see above.")


def client_library() -> str | None:
    """What mysqlclient's build would compile against, found as its setup.py finds it; None if nothing."""
    if os.environ.get("MYSQLCLIENT_CFLAGS") and os.environ.get("MYSQLCLIENT_LDFLAGS"):
        return "MYSQLCLIENT_CFLAGS and MYSQLCLIENT_LDFLAGS"
    if shutil.which("pkg-config") is None:
        return None
    for name in CLIENT_LIBRARIES:
        if subprocess.run(["pkg-config", "--exists", name], capture_output=True).returncode == 0:
            return f"pkg-config's {name}"
    return None


def build_error(pip_output: str) -> str:
    """The line of pip's output that says why a build failed, else its last line."""
    lines = [line.strip() for line in pip_output.splitlines() if line.strip()]
    for line in lines:
        if re.search(r"\b(\w+Error|\w*Exception|error): ", line) and "subprocess-exited-with-error" not in line:
            return line
    return lines[-1] if lines else "pip printed nothing"


def mysqlclient_problem(required: bool) -> str | None:
    """Install mysqlclient (requirements-mysql.txt) if it can be built here: None when it is installed, else why not.

    Unless ``required``, its build is not tried when no client library is found, as it would fail.
    """
    if not required and not installed("requirements-mysql.txt") and client_library() is None:
        why = "finds no MariaDB/MySQL client library" if shutil.which("pkg-config") else "is not installed"
        return f"mysqlclient is not installed, as pkg-config {why}. {MYSQLCLIENT_HINT}"
    failure = install("requirements-mysql.txt")
    if failure is None:
        return None
    if required:
        print(failure, end="", file=sys.stderr)
    log = VENV / "mysqlclient-build.log"
    log.write_text(failure)
    why = build_error(failure)
    return f"mysqlclient failed to build: {why} (pip's output: {log.relative_to(ROOT)}). {MYSQLCLIENT_HINT}"


def ensure_project() -> None:
    """requirements.txt, and a MariaDB/MySQL driver when DATABASE_URL is mysql:// (mysqlclient, else PyMySQL)."""
    ensure_venv("requirements.txt")
    if os.environ.get("DATABASE_URL", "").startswith(("mysql:", "mysql2:", "mysqlgis:")):
        ensure_venv("requirements-pymysql.txt")
        problem = mysqlclient_problem(required=False)
        if problem:
            say(f"!!! the MariaDB/MySQL driver is PyMySQL (pure Python): {problem} !!!")


def sentence(text: str) -> str:
    """``text`` ending with a full stop, unless it already ends a sentence."""
    return text if text.endswith((".", "?", "!")) else f"{text}."


def missing_requirement(exc: BaseException, command: str) -> str | None:
    """The fix when ``exc`` comes from a missing module (Django's own, or its driver's), for a script that
    ``python3 dev.py <command>`` runs in the virtualenv; None for any other error."""
    missing = exc if isinstance(exc, ImportError) else exc.__cause__
    if not isinstance(missing, ImportError):
        return None
    if missing.name in ("MySQLdb", "pymysql"):
        return (
            f"the MariaDB/MySQL driver is missing: run `python3 dev.py {command}` (with a mysql:// DATABASE_URL it "
            "installs PyMySQL, and mysqlclient where it can be built), or `pip install -r requirements-pymysql.txt`"
        )
    return (
        f"this Python ({sys.executable}) lacks the project's requirements: run `python3 dev.py {command}` (it creates "
        f"a virtualenv in {VENV.relative_to(ROOT)}/, installs requirements.txt and runs it there), or "
        "`pip install -r requirements.txt` and run it again"
    )


def run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, env={**os.environ, **(env or {})}).returncode


# Run in the virtualenv with the test settings. It reaches the server as pytest-django does to
# create test_<name> (Django's _nodb_cursor: PostgreSQL's "postgres" database, no database on
# MySQL), so a database that does not exist yet is no reason to skip; it creates and drops a
# database there, as the tests will. Prints one line.
PROBE = """
import os, sys
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
        version = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        else:
            cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [db["NAME"]])
        exists = cursor.fetchone() is not None
except Exception as exc:
    sys.exit(f"cannot connect to the server{where}: {type(exc).__name__}: {' '.join(str(exc).split())}")
if connection.vendor == "postgresql":
    import psycopg
    server, driver = " ".join(version.split()[:2]), f"psycopg {psycopg.__version__}"
else:
    import MySQLdb
    server = f"{'MariaDB' if 'mariadb' in version.lower() else 'MySQL'} {version.split('-')[0]}"
    pymysql = MySQLdb.__name__ == "pymysql"
    driver = f"PyMySQL {MySQLdb.VERSION_STRING}" if pymysql else "mysqlclient %d.%d.%d" % MySQLdb.version_info[:3]
test_name = connection.settings_dict["TEST"]["NAME"] or "test_" + db["NAME"]
scratch = connection.ops.quote_name(f"{test_name}_probe{os.getpid()}")
try:
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {scratch}")
        cursor.execute(f"DROP DATABASE {scratch}")
except Exception as exc:
    sys.exit(
        f"the server answers{where} ({server}), but the tests cannot create their database {test_name!r} there: "
        f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    )
state = "exists" if exists else "does not exist (not needed)"
print(f"the server answers{where} ({server}, {driver}); database {db['NAME']!r} {state}; the tests use {test_name!r}")
"""


def probe(url: str, python: str | Path = PYTHON) -> tuple[bool, str]:
    """Whether the server of ``url`` can be used for the tests, and a one-line message saying why."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    try:
        done = subprocess.run([str(python), "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "the probe got no answer in 60 s"
    lines = (done.stdout if done.returncode == 0 else done.stderr).strip().splitlines()
    return done.returncode == 0, mask_password(lines[-1] if lines else "the probe printed nothing", url)


def test(args: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    ci = os.environ.get("CI") == "true"
    outcomes = {"SQLite": "", **{name: "" for name, _, _ in SERVERS}}
    notes: list[str] = []  # loud lines, said when they happen and again after the summary

    def note(line: str) -> None:
        say(f"!!! {line} !!!")
        notes.append(line)

    # The servers first, and then the MariaDB driver, so that every run uses the same driver: the
    # SQLite run's tests reach the servers too, beside their own database.
    servers: dict[str, tuple[str, str]] = {}  # name: (URL, the probe's message), for the servers to test
    for name, variable, default in SERVERS:
        url = os.environ.get(variable) or default
        usable, message = probe(url)
        if usable:
            servers[name] = (url, message)
            continue
        outcomes[name] = f"{'FAILED' if ci else 'SKIPPED'} (server not usable)"
        note(
            f"{name} tests {'FAILED' if ci else 'SKIPPED'}: {sentence(message)}"
            + (" With CI=true, a server that cannot be used is a failure." if ci else "")
            + f" To test {name}, set {variable} (now {mask_password(url, url)}) to a server where that user"
            " may create databases."
        )
    driver = ""
    if ci or "MariaDB" in servers:
        problem = mysqlclient_problem(required=ci)
        if problem and ci:
            note(f"MariaDB tests FAILED: {problem} With CI=true, the tests require mysqlclient.")
            if servers.pop("MariaDB", None):
                outcomes["MariaDB"] = "FAILED (no mysqlclient)"
        elif problem:
            driver = " on PyMySQL"
            note(f"MariaDB tests run on PyMySQL (pure Python), not on mysqlclient: {problem}")
        elif "MariaDB" in servers:  # the probe's message names the driver: mysqlclient, perhaps just installed
            url = servers["MariaDB"][0]
            servers["MariaDB"] = (url, probe(url)[1])

    say("tests on SQLite")
    outcomes["SQLite"] = "passed" if run("-m", "pytest", *args, env={"DATABASE_URL": ""}) == 0 else "FAILED"
    for name, (url, message) in servers.items():
        say(f"tests on {name}: {message}")
        code = run("-m", "pytest", *args, env={"DATABASE_URL": url})
        outcomes[name] = ("passed" if code == 0 else "FAILED") + (driver if name == "MariaDB" else "")

    say("summary: " + ", ".join(f"{name} {outcome}" for name, outcome in outcomes.items()))
    for line in notes:
        say(f"!!! {line} !!!")
    return 1 if any("FAILED" in outcome for outcome in outcomes.values()) else 0


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
    if command in ("demo", "manage"):
        ensure_project()
        return run("main.py" if command == "demo" else "manage.py", *args)
    if command == "test":
        return test(args)
    if command == "lint":
        return lint(args)
    if command == "bench":
        ensure_venv("requirements-dev.txt")
        problem = mysqlclient_problem(required=False)
        if problem:
            say(f"!!! MariaDB/MySQL, if it answers, is measured on PyMySQL (pure Python): {problem} !!!")
        return run("-m", "benchmarks", *args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
