"""The benchmark's own databases: a new SQLite file, and a new database on each server that answers.

Rows that exist anywhere else are never read or changed: the run creates its databases, makes
the demo tables and django.contrib.auth's in them, empties those tables between timed runs and
drops everything at the end.
A database URL's password is never printed: every message about a URL shows it through
``mask_url``, and the drivers get keyword arguments, never the URL (libpq quotes a bad URL back).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

from app.management.masking import mask_password

ROOT = Path(__file__).resolve().parent.parent
CONNECT_TIMEOUT = 5  # seconds: a server that does not answer by then is skipped
DEFAULT_URLS = {
    "postgresql": "postgres://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}
SCHEMES = {"postgresql": ("postgres", "postgresql", "pgsql"), "mysql": ("mysql", "mysql2")}
ENV_VARS = {"postgresql": ("DATABASE_URL", "TEST_POSTGRES_URL"), "mysql": ("DATABASE_URL", "TEST_MYSQL_URL")}
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}


class UnavailableError(Exception):
    """A server that cannot be used: a bad URL or no answer. The message never holds a password."""


def mask_url(url: str) -> str:
    """``url`` with its password field replaced by ``***``, also when the URL is malformed."""
    return mask_password(url, url)


def server_url(backend: str, explicit: str | None) -> str:
    """The URL of ``backend``'s server: ``explicit``, else the first environment URL of its scheme, else the default."""
    if explicit:
        return explicit
    for variable in ENV_VARS[backend]:
        url = os.environ.get(variable, "")
        if url.split(":", 1)[0].lower() in SCHEMES[backend]:
            return url
    return DEFAULT_URLS[backend]


def parse_url(backend: str, url: str) -> dict[str, Any]:
    """Django's DATABASES entry for ``url``; UnavailableError (with the URL masked) when it is malformed."""
    import dj_database_url

    shown = mask_url(url)
    if url.split(":", 1)[0].lower() not in SCHEMES[backend]:
        raise UnavailableError(f"{shown} is not a {NAMES[backend]} URL ({', '.join(SCHEMES[backend])}://)")
    if re.search(r"\s", url):
        raise UnavailableError(f"{shown} holds whitespace; %-escape it (%20)")
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        raise UnavailableError(f"{shown} holds a % that is not a %-escape (%XX, two hex digits)")
    try:
        config = dict(dj_database_url.parse(url))
    except Exception as exc:  # its message may quote the URL: name the error only
        raise UnavailableError(f"{shown} cannot be parsed ({type(exc).__name__})") from None
    if not config.get("NAME"):
        raise UnavailableError(f"{shown} names no database to connect to (…/dbname)")
    return config


class SQLiteFile:
    """A new, empty SQLite file next to the project's (same disk, so a commit costs what it costs there)."""

    backend = "sqlite"

    def __init__(self) -> None:
        directory = ROOT / "db" if (ROOT / "db").is_dir() else None
        fd, name = tempfile.mkstemp(prefix="bench-", suffix=".sqlite3", dir=directory)
        os.close(fd)
        self.path = Path(name)

    def settings(self) -> dict[str, Any]:
        # As the project's settings.py: IMMEDIATE transactions, wait on the lock.
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(self.path),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        }

    def describe(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"SQLite file {shown} (new, on the project's disk, removed at the end)"

    def drop(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()


def psycopg_login(config: dict[str, Any]) -> dict[str, Any]:
    """psycopg.connect()'s host, port, user and password from Django's database settings, those that are set.

    Keyword arguments, not a URL: no driver message can quote the password back.
    """
    login = {"host": config["HOST"], "port": config["PORT"], "user": config["USER"], "password": config["PASSWORD"]}
    return {key: value for key, value in login.items() if value not in ("", None)}


def connect_server(backend: str, url: str) -> Any:
    """An autocommit connection to the server of ``url``, to run CREATE/DROP DATABASE and look at pg_database.

    As Django's test runner: the maintenance database on PostgreSQL ("postgres", else the URL's
    own), no database on MariaDB/MySQL. So the database the URL names need not exist.
    """
    c = parse_url(backend, url)
    try:
        if backend == "postgresql":
            import psycopg

            kwargs = psycopg_login(c)
            try:
                return psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=CONNECT_TIMEOUT, **kwargs)
            except psycopg.OperationalError:
                if c["NAME"] == "postgres":
                    raise
                return psycopg.connect(dbname=c["NAME"], autocommit=True, connect_timeout=CONNECT_TIMEOUT, **kwargs)
        from settings import import_mysqldb  # mysqlclient, else PyMySQL

        return import_mysqldb().connect(
            host=c["HOST"] or "localhost",
            port=int(c["PORT"] or 3306),
            user=c["USER"] or "root",
            password=c["PASSWORD"] or "",
            connect_timeout=CONNECT_TIMEOUT,
            autocommit=True,
        )
    except Exception as exc:
        # The drivers' messages name host, port and user, never the password given as a keyword.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise UnavailableError(f"{mask_url(url)} does not answer: {reason}") from None


class ServerDatabase:
    """A database this run creates on a PostgreSQL or MariaDB/MySQL server, and drops at the end."""

    def __init__(self, backend: str, url: str, prefix: str = "asyncfactory_bench") -> None:
        self.backend = backend
        self.url, self.shown_url = url, mask_url(url)
        self.config = parse_url(backend, url)
        self.name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
        self.created = False

    def _execute(self, statement: str) -> None:
        connection = connect_server(self.backend, self.url)
        try:
            connection.cursor().execute(statement)
        except Exception as exc:  # e.g. no CREATE DATABASE privilege
            raise UnavailableError(f"{self.shown_url}: {statement.split(' ')[0]} failed: {exc}") from None
        finally:
            connection.close()

    def create(self) -> None:
        if self.backend == "postgresql":
            self._execute(f'CREATE DATABASE "{self.name}"')  # our own name: letters, digits, _
        else:
            self._execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        self.created = True

    def settings(self) -> dict[str, Any]:
        settings = {**self.config, "NAME": self.name}
        if self.backend == "mysql":
            settings["OPTIONS"] = {**settings.get("OPTIONS", {}), "charset": "utf8mb4"}
        return settings

    def describe(self) -> str:
        port = self.config.get("PORT") or (5432 if self.backend == "postgresql" else 3306)
        where = f"{self.config.get('HOST') or 'localhost'}:{port}"
        return f"{NAMES[self.backend]} database {self.name!r} on {where} (created for this run, dropped at the end)"

    def drop(self) -> None:
        if not self.created:
            return
        if self.backend == "postgresql":
            self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            self._execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        self.created = False


class BenchmarkRouter:
    """Database router: relations between any objects, and the user model in the auth section's database.

    An unsaved parent assigned to a child routes both to "default": every variant saves with an
    explicit alias, and every row of one call lands in the same database, so allow it anyway.
    ``AuthUserFactory`` runs ``full_clean()``, which checks ``unique`` fields where the router reads
    the model: ``auth_alias`` (set by the auth section) sends it to the database being measured.
    """

    auth_alias: str | None = None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        alias = BenchmarkRouter.auth_alias
        if alias is None:  # outside the auth section: no work, so that no variant pays for this router
            return None
        from django.contrib.auth import get_user_model

        return alias if model is get_user_model() else None

    db_for_write = db_for_read


def configure_django(databases: dict[str, dict[str, Any]], native_engine: bool = False) -> None:
    """Django settings of the project, with the benchmark's databases instead of the project's.

    ``native_engine``: django-async-backend's app too (its models' async managers), for the native section.
    """
    import django
    from django.conf import settings

    import settings as project

    settings.configure(
        INSTALLED_APPS=[*project.INSTALLED_APPS, *(["django_async_backend"] if native_engine else [])],
        DATABASES=databases,
        DATABASE_ROUTERS=[f"{__name__}.BenchmarkRouter"],
        DEFAULT_AUTO_FIELD=project.DEFAULT_AUTO_FIELD,
        USE_TZ=project.USE_TZ,
        TIME_ZONE=project.TIME_ZONE,
        SECRET_KEY="benchmark-only",
    )
    django.setup()


def demo_models() -> list[Any]:
    from app.models import Friend, Profile, User

    return [User, Profile, Friend]


def auth_models() -> list[Any]:
    """django.contrib.auth's tables, parents first: what ``AuthUserFactory`` (``get_user_model()``) writes to."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    return [ContentType, Permission, Group, get_user_model()]


def auth_user_tables() -> list[Any]:
    """The user table and its many-to-many tables, parents first: the ones the auth section empties."""
    from django.contrib.auth import get_user_model

    user = get_user_model()
    return [user, *(field.remote_field.through for field in user._meta.local_many_to_many)]


def create_tables(alias: str) -> None:
    """The demo's tables and auth's in the new database (created as the models declare them: no migrations to run).

    ``create_model`` also makes a model's many-to-many tables (auth_group_permissions, auth_user_groups, ...).
    """
    from django.db import connections

    with connections[alias].schema_editor() as editor:
        for model in demo_models() + auth_models():
            editor.create_model(model)


def empty_tables(alias: str, models: list[Any] | None = None) -> None:
    """Delete every row of ``models`` (parents first; default: the demo tables) in the benchmark's own database."""
    from django.db import connections, transaction

    connection = connections[alias]
    models = demo_models() if models is None else models
    tables = [connection.ops.quote_name(model._meta.db_table) for model in reversed(models)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        elif connection.vendor == "mysql":  # TRUNCATE: no purge left for InnoDB to do during the next run
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in tables:
                cursor.execute(f"TRUNCATE TABLE {table}")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        else:  # SQLite: one transaction, so one commit to disk
            with transaction.atomic(using=alias):
                for table in tables:  # children first
                    cursor.execute(f"DELETE FROM {table}")


def server_version(alias: str) -> str:
    """The database server's own version string."""
    from django.db import connections

    connection = connections[alias]
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = str(cursor.fetchone()[0])
    if connection.vendor == "postgresql":
        return version.split(" on ")[0]
    from settings import mysql_driver

    return f"{'MariaDB' if 'mariadb' in version.lower() else 'MySQL'} {version} (driver: {mysql_driver()})"
