"""The PostgreSQL and MariaDB servers some tests use beside the suite's own database.

Whether a server can be used is dev.py's probe, the one `python3 dev.py test` runs: a test that
needs a server that cannot be used skips, saying why, except with CI=true, where it fails. The
database a URL names need not exist: a test creates and drops the databases it needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import metadata
from typing import NoReturn

import pytest

import dev
from benchmarks.databases import ServerDatabase, UnavailableError

SERVER_URLS = {variable: os.environ.get(variable) or default for _, variable, default in dev.SERVERS}
BACKENDS = {"TEST_POSTGRES_URL": "postgresql", "TEST_MYSQL_URL": "mysql"}


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason`` (a server or driver it needs cannot be used); with CI=true, fail it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (with CI=true, that is a failure, not a skip)")
    pytest.skip(reason)


def mysqlclient_installed() -> bool:
    """Whether mysqlclient is installed (``import MySQLdb`` may be PyMySQL in its place: settings.import_mysqldb)."""
    try:
        metadata.version("mysqlclient")
    except metadata.PackageNotFoundError:
        return False
    return True


@cache
def probe(url: str) -> tuple[bool, str]:
    """dev.py's probe of ``url`` from this Python, once per test run."""
    return dev.probe(url, sys.executable)


def require_server(variable: str) -> str:
    """The URL of the server ``variable`` names, if the tests can use it; else skip saying why."""
    usable, message = probe(SERVER_URLS[variable])
    if not usable:
        unavailable(f"{variable}: {message}")
    return SERVER_URLS[variable]


def on_server(variable: str, database: str, login: str | None = None) -> str:
    """The URL of the server of ``variable`` with another database name, and ``login`` ("user:password") if given."""
    url = SERVER_URLS[variable].split("?")[0].rsplit("/", 1)[0] + "/" + database
    if login is None:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{login}@{rest.rsplit('@', 1)[-1]}"


@contextmanager
def scratch_database(variable: str, prefix: str) -> Iterator[ServerDatabase]:
    """A new database on the server of ``variable``, named ``<prefix>_<pid>_<hex>``, dropped afterwards."""
    database = ServerDatabase(BACKENDS[variable], require_server(variable), prefix=prefix)
    try:
        database.create()
    except UnavailableError as exc:
        unavailable(f"{variable}: {exc}")
    try:
        yield database
    finally:
        database.drop()
