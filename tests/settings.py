"""Settings for the test suite: the project's settings plus the test apps."""

import atexit
import importlib.util
import os
import shutil
import tempfile

from settings import *  # noqa: F403
from settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp", "tests.bulkapp", "tests.recipes"]

# Tests create many users: a deliberately weak, fast hasher (never use it outside tests).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {**DATABASES["default"].get("TEST", {}), "NAME": os.environ["TEST_DATABASE_NAME"]}

# A second database on the same server, for calls that span databases (tests.routers); its test
# database is created only for the tests that ask for it (django_db(databases=[..., "other"])).
DATABASES["other"] = {**DATABASES["default"], "TEST": dict(DATABASES["default"].get("TEST", {}))}
if DATABASES["other"]["ENGINE"] != "django.db.backends.sqlite3":
    other_name = DATABASES["other"]["TEST"].get("NAME") or f"test_{DATABASES['other']['NAME']}"
    DATABASES["other"]["TEST"]["NAME"] = f"{other_name}_other"
else:
    DATABASES["other"]["TEST"].pop("NAME", None)  # an in-memory database of its own

# FileField/ImageField factories write files: keep them out of the project, and remove them after.
MEDIA_ROOT = os.environ.get("TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="asyncfactory-media-")
if not os.environ.get("TEST_MEDIA_ROOT"):
    atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)

# django-async-backend (Python 3.12+, Django 6.1): on PostgreSQL, a database "native" on the same
# server, run by its asyncio engine, for the native engine's tests (tests/test_native_engine.py).
ON_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if ON_POSTGRESQL and importlib.util.find_spec("django_async_backend"):
    INSTALLED_APPS = [*INSTALLED_APPS, "django_async_backend"]
    native_name = DATABASES["default"].get("TEST", {}).get("NAME") or f"test_{DATABASES['default']['NAME']}"
    DATABASES["native"] = {
        **DATABASES["default"],
        "ENGINE": "django_async_backend.db.backends.postgresql",
        "TEST": {**DATABASES["default"].get("TEST", {}), "NAME": f"{native_name}_native"},
    }
