import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["app.factory.pytest_plugin"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all-transactional",
        action="store_true",
        help="run every django_db test as django_db(transaction=True), to compare with rollback isolation",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--all-transactional"):
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and not marker.kwargs.get("transaction"):
            item.add_marker(pytest.mark.django_db(*marker.args, **{**marker.kwargs, "transaction": True}), append=False)


# --- a database for subprocesses that run the project (python main.py, manage.py ...) ------------


def project_env(database_url: str) -> dict[str, str]:
    """This environment for a subprocess with the project's own settings (not the test settings) on ``database_url``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAME")}
    return {**env, "DATABASE_URL": database_url}


class ProjectDatabase:
    """A database a subprocess of the project writes to: its DATABASE_URL and row counts.

    A migrated temporary SQLite file when the suite runs on SQLite (its test database is in
    memory); on PostgreSQL or MariaDB the test database itself, so only transactional tests
    (flushed afterwards) may use it.
    """

    def __init__(self, url: str, sqlite_file: Path | None) -> None:
        self.url, self.sqlite_file = url, sqlite_file

    def env(self) -> dict[str, str]:
        """The environment of a subprocess with the project's own settings on this database."""
        return project_env(self.url)

    def count(self, table: str) -> int:
        if self.sqlite_file is None:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                return int(cursor.fetchone()[0])
        with closing(sqlite3.connect(self.sqlite_file, timeout=30)) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("project") / "migrated.sqlite3"
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=ProjectDatabase(f"sqlite:///{path}", path).env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def project_database(request: pytest.FixtureRequest, tmp_path: Path) -> ProjectDatabase:
    """A database for the project run in a subprocess (see ProjectDatabase)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "project.sqlite3"
        shutil.copy(request.getfixturevalue("_migrated_sqlite_file"), path)
        return ProjectDatabase(f"sqlite:///{path}", path)
    settings = connection.settings_dict
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[connection.vendor]
    auth = quote(settings["USER"] or "", safe="")
    if settings["PASSWORD"]:
        auth += ":" + quote(settings["PASSWORD"], safe="")
    host = f"{settings['HOST'] or 'localhost'}:{settings['PORT']}"
    return ProjectDatabase(f"{scheme}://{auth}@{host}/{settings['NAME']}", None)
