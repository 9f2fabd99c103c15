"""Django settings for the standalone ORM template (no web server, no URLconf)."""

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent

# DEVELOPMENT DEFAULT ONLY: set SECRET_KEY in the environment anywhere that matters.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-development-only-do-not-deploy")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "app",
]


def import_mysqldb() -> ModuleType:
    """The MariaDB/MySQL driver Django imports as ``MySQLdb``: mysqlclient, else PyMySQL in its place.

    PyMySQL (pure Python) is the fallback where mysqlclient, which compiles against the client
    library, is not installed: ``pymysql.install_as_MySQLdb()`` makes Django's ``import MySQLdb``
    load it. ``MySQLdb.__name__`` says which one it is ("MySQLdb" or "pymysql").
    """
    try:
        return importlib.import_module("MySQLdb")
    except ImportError as missing:
        try:
            pymysql = importlib.import_module("pymysql")
        except ImportError:
            raise missing from None
        pymysql.install_as_MySQLdb()
        return pymysql


def mysql_driver() -> str:
    """Which driver Django's ``import MySQLdb`` loaded: "PyMySQL" (``import_mysqldb``'s fallback) or "mysqlclient"."""
    return "PyMySQL" if getattr(sys.modules.get("MySQLdb"), "__name__", "") == "pymysql" else "mysqlclient"


DEFAULT_SQLITE_URL = f"sqlite:///{BASE_DIR / 'db' / 'db.sqlite3'}"


def parse_database_url(url: str) -> dict:  # type: ignore[type-arg]
    """``dj_database_url.parse(url)``; a malformed URL is an error that quotes no part of it."""
    try:
        return dict(dj_database_url.parse(url))
    except ValueError as exc:
        if type(exc).__name__ == "UnknownSchemeError":  # it names the scheme only
            raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from None
        # urlsplit's errors quote parts of the URL, perhaps of its password: never show them.
        raise ImproperlyConfigured(
            "DATABASE_URL is malformed: percent-encode / @ # ? % and spaces in its user and password "
            "(%2F %40 %23 %3F %25 %20)"
        ) from None


DATABASES = {"default": parse_database_url(os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL)}
# A script is one long-running client, not a request cycle: its connection lives as long as the
# process (CONN_MAX_AGE=None: close_old_connections() keeps it; with 0 it would close it each
# time) and is checked before each factory call outside a transaction (CONN_HEALTH_CHECKS), so a
# connection the server dropped (wait_timeout, a restart, KILL) is replaced instead of failing
# every later call.
DATABASES["default"].update({"CONN_MAX_AGE": None, "CONN_HEALTH_CHECKS": True})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers queue on
    # `timeout` instead of failing with "database is locked" when they upgrade a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 30})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    import_mysqldb()  # mysqlclient, else PyMySQL in its place
    # MariaDB/MySQL. Django 5.2+ already connects with charset utf8mb4 and the READ COMMITTED
    # isolation level, under which get_or_create's IntegrityError fallback sees the row
    # that another transaction committed. Strict mode (the servers' default, added if a server
    # turned it off) makes a too-long or invalid value an error instead of a silently truncated
    # row. Options given in the URL's query string win.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "init_command", "SET sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_TRANS_TABLES')"
    )
    # The test database in utf8mb4 whatever the server's default character set (latin1 upstream).
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
