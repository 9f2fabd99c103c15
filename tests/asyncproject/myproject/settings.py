"""Settings of a small Django project that copied the async factory package as myproject/factory."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "asyncproject-insecure-test-only")
DEBUG = False
ALLOWED_HOSTS = ["localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "library",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "myproject.urls"

# SQLite next to manage.py unless DATABASE_URL says otherwise (postgres://..., mysql://...).
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if os.environ.get("TEST_DATABASE_NAME"):
    # One test database per run, so that parallel runs on one server do not collide.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ["TEST_DATABASE_NAME"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # The test database in utf8mb4, whatever the server's default character set.
    DATABASES["default"].setdefault("TEST", {})["CHARSET"] = "utf8mb4"
    # The driver: mysqlclient where it is installed, else PyMySQL in its place (docs/databases.md).
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        import pymysql

        pymysql.install_as_MySQLdb()

# Tests create users: a fast hasher (tests only).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
