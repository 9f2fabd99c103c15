"""The demo: create related rows with async factories, in plain asyncio (uvloop when installed).

    python main.py            # SQLite at db/db.sqlite3
    DATABASE_URL=postgres://user@host:5432/name python main.py
    DATABASE_URL=mysql://user@host:3306/name python main.py     # MariaDB/MySQL: see docs/databases.md

It applies pending migrations first, only ever adds rows, and exits non-zero on failure.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from typing import Any

from app.management.masking import mask_password
from dev import missing_requirement  # dev.py uses only the standard library

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")


def fail(message: str) -> int:
    """Print one line on stderr, without DATABASE_URL's password, and return the exit code."""
    message = mask_password(message, os.environ.get("DATABASE_URL", ""))
    print(f"main.py: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0].rstrip('.') if text else ''}"


def describe_database() -> str:
    """Engine, name, host and port of the default database; never user or password."""
    from django.db import connection

    settings = connection.settings_dict
    where = f" on {settings['HOST']}:{settings['PORT'] or 'default port'}" if settings.get("HOST") else ""
    from settings import mysql_driver

    pymysql = connection.vendor == "mysql" and mysql_driver() == "PyMySQL"
    driver = " (driver: PyMySQL, as mysqlclient is not installed)" if pymysql else ""
    return f"{connection.vendor} database {str(settings['NAME'])!r}{where}{driver}"


def migrate() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        print(f"Applying {len(plan)} pending migration(s): {', '.join(f'{m.app_label}.{m.name}' for m, _ in plan)}")
        call_command("migrate", verbosity=0, interactive=False)
    else:
        print("Migrations: up to date.")


async def scenario() -> None:
    from app.factories import FriendFactory, ProfileFactory
    from app.models import Friend, Profile, User

    users, friends, profiles = (
        await User.objects.acount(),
        await Friend.objects.acount(),
        await Profile.objects.acount(),
    )

    created = await FriendFactory.create_batch(10)
    assert await Friend.objects.acount() == friends + 10
    print(f"  created 10 friendships between {len({u.pk for f in created for u in (f.user, f.friend)})} new users")

    profile = await ProfileFactory.create(user=created[0].user)
    assert await Profile.objects.acount() == profiles + 1
    print(f"  created a profile for {profile.user.name!r}")

    built = await ProfileFactory.build()
    assert built.pk is None
    assert await Profile.objects.acount() == profiles + 1
    print(f"  built (not saved) a profile for {built.user.name!r}")

    print(
        f"Rows now: User {await User.objects.acount()} (+{await User.objects.acount() - users}), "
        f"Friend {await Friend.objects.acount()} (+10), Profile {await Profile.objects.acount()} (+1)."
    )


def run(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        print("Event loop: asyncio (uvloop is not installed)")
        asyncio.run(coro)
    else:
        print("Event loop: uvloop")
        uvloop.run(coro)


def main() -> int:
    try:
        import django
        from django.db import DatabaseError

        django.setup()
        print(f"Database: {describe_database()}")
    except Exception as exc:  # a missing requirement or driver, a malformed DATABASE_URL, ...
        install = missing_requirement(exc, "demo")
        if install:
            return fail(f"{reason(exc)}: {install}.")
        return fail(f"could not configure Django: {reason(exc)}. Check DATABASE_URL.")

    try:
        migrate()
    except DatabaseError as exc:
        return fail(f"cannot use the {describe_database()}: {reason(exc)}. Check DATABASE_URL.")

    try:
        run(scenario())
    except AssertionError as exc:
        return fail(f"the scenario's check failed: {exc!r}")
    print("Done: the demo scenario passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
