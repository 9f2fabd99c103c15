#!/usr/bin/env python
"""Django's command-line utility for administrative tasks (`python3 dev.py manage ...` runs it in the virtualenv)."""

import os
import shlex
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        from dev import missing_requirement  # dev.py uses only the standard library

        command = shlex.join(["manage", *sys.argv[1:]])
        sys.exit(f"manage.py: error: {type(exc).__name__}: {exc}: {missing_requirement(exc, command)}.")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
