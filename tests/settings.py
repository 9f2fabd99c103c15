"""Settings for the test suite: the project's settings plus the test apps."""

import os
import tempfile

from settings import *  # noqa: F403
from settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp", "tests.bulkapp", "tests.recipes"]

# Tests create many users: a deliberately weak, fast hasher (never use it outside tests).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

# FileField/ImageField factories write files: keep them out of the project.
MEDIA_ROOT = os.environ.get("TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="asyncfactory-media-")
