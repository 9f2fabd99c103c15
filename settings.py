"""Django settings for the standalone ORM template (no web server, no URLconf)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent

# DEVELOPMENT DEFAULT ONLY: set SECRET_KEY in the environment anywhere that matters.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-development-only-do-not-deploy")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "app",
]

DEFAULT_SQLITE_URL = f"sqlite:///{BASE_DIR / 'db' / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers queue on
    # `timeout` instead of failing with "database is locked" when they upgrade a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 30})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
