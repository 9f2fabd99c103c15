#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.DATABASES  # noqa: B018 - reads settings.py: a bad DATABASE_URL is one line, not a traceback
    except ImproperlyConfigured as exc:
        sys.exit(f"manage.py: error: {str(exc).rstrip('.')}.")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
