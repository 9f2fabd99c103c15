#!/usr/bin/env python
"""Django's command-line utility for administrative tasks (`python3 dev.py manage ...` runs it in the virtualenv)."""

import os
import shlex
import sys


def exit_missing(exc: ImportError) -> None:
    """Exit with one line: what is missing (Django, or the MariaDB/MySQL driver) and the command that installs it."""
    from dev import missing_requirement  # dev.py uses only the standard library

    command = shlex.join(["manage", *sys.argv[1:]])
    sys.exit(f"manage.py: error: {type(exc).__name__}: {exc}: {missing_requirement(exc, command)}.")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        exit_missing(exc)

    try:
        settings.DATABASES  # noqa: B018 - reads settings.py: a bad DATABASE_URL is one line, not a traceback
    except ImproperlyConfigured as exc:
        sys.exit(f"manage.py: error: {str(exc).rstrip('.')}.")
    except ImportError as exc:  # settings.py found no MariaDB/MySQL driver
        exit_missing(exc)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
