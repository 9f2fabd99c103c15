"""dev.py and main.py as users run them: no password in any message, the server probe says why,
main.py on MariaDB. Subprocesses use the project's settings, not the test settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import pytest

import dev

ROOT = Path(__file__).resolve().parent.parent
SERVER_URLS = {variable: os.environ.get(variable) or default for _, variable, default in dev.SERVERS}


def run_main(database_url: str, *python_flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAME")}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, *python_flags, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def on_server(variable: str, database: str) -> str:
    """The URL of the server of ``variable`` (same user and password) with another database name."""
    return SERVER_URLS[variable].split("?")[0].rsplit("/", 1)[0] + "/" + database


def require_server(variable: str) -> None:
    usable, message = dev.probe(SERVER_URLS[variable], sys.executable)
    if not usable:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{variable}: {message}")
        pytest.skip(f"{variable}: {message}")


# --- masking the password of DATABASE_URL ----------------------------------------------------------------

MASKING = [
    # (url, message, what is printed)
    (  # a bad %-escape, echoed by a driver that parses the URL itself
        "postgres://u:Zq9%ZZsecret@127.0.0.1:5432/x",
        'invalid percent-encoded token: "Zq9%ZZsecret"',
        'invalid percent-encoded token: "***"',
    ),
    (  # password 0: the URL's password field is masked, not every 0
        "postgres://u:0@127.0.0.1:5432/x",
        "connection to 127.0.0.1 port 5432 failed (postgres://u:0@127.0.0.1:5432/x)",
        "connection to 127.0.0.1 port 5432 failed (postgres://u:***@127.0.0.1:5432/x)",
    ),
    (  # malformed: an @ and a space in the password; the field ends at the last @
        "mysql://root:p@ss word@db:3306/x",
        "cannot parse mysql://root:p@ss word@db:3306/x",
        "cannot parse mysql://root:***@db:3306/x",
    ),
    ("mysql://root:s%40cret@db/x", "password=s@cret host=db", "password=*** host=db"),  # %-decoded
    ("mysql://me@corp:pw0rd@db/x", "as me@corp:pw0rd@db", "as me@corp:***@db"),  # malformed: an @ in the user
    ("postgres://u@h:5432/x", "no password in u@h:5432", "no password in u@h:5432"),
    ("sqlite:///db/db.sqlite3", "sqlite:///db/db.sqlite3", "sqlite:///db/db.sqlite3"),
]


@pytest.mark.parametrize(("url", "message", "printed"), MASKING)
def test_the_password_field_is_masked_and_nothing_else(url: str, message: str, printed: str):
    assert dev.mask_password(message, url) == printed


# --- main.py -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgres://user:Zq9%ZZsecret@127.0.0.1:1/x",  # bad %-escape
        "postgres://user:sec ret@127.0.0.1:1/x",  # a space
        "mysql://root:se/cret@127.0.0.1:1/x",  # a / that urlsplit takes for the end of the host
        "mysql://root:se#cret@127.0.0.1:1/x",  # a # that urlsplit takes for a fragment
    ],
)
def test_main_with_a_malformed_url_prints_no_part_of_the_password(url: str):
    done = run_main(url)

    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for fragment in ("cret", "sec ", "Zq9"):
        assert fragment not in done.stdout + done.stderr


def test_main_with_password_0_prints_the_host_intact():
    done = run_main("postgres://user:0@127.0.0.1:1/x")

    assert done.returncode == 1
    assert "127.0.0.1" in done.stderr
    assert "127.***" not in done.stdout + done.stderr
    assert "Connection refused" in done.stderr


def test_main_without_django_says_how_to_install_and_run():
    done = run_main("", "-S")  # -S: without site-packages, so without Django

    assert done.returncode == 1
    assert "No module named 'django'" in done.stderr
    assert "python3 dev.py demo" in done.stderr
    assert "pip install -r requirements.txt" in done.stderr
    assert "Check DATABASE_URL" not in done.stderr


@pytest.fixture
def scratch_mariadb_database() -> Iterator[str]:
    require_server("TEST_MYSQL_URL")
    import MySQLdb

    name = f"asyncfactory_main_{os.getpid()}"
    db = dj_database_url.parse(SERVER_URLS["TEST_MYSQL_URL"])
    server = MySQLdb.connect(host=db["HOST"], port=int(db["PORT"] or 3306), user=db["USER"], password=db["PASSWORD"])
    try:
        server.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield name
    finally:
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


def test_main_runs_on_mariadb(scratch_mariadb_database: str):
    done = run_main(on_server("TEST_MYSQL_URL", scratch_mariadb_database))

    assert done.returncode == 0, done.stderr
    assert f"mysql database '{scratch_mariadb_database}'" in done.stdout
    assert "pending migration" in done.stdout
    assert "created 10 friendships" in done.stdout
    assert "Done" in done.stdout


# --- dev.py ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["TEST_POSTGRES_URL", "TEST_MYSQL_URL"])
def test_the_probe_says_the_server_answers_when_the_database_does_not_exist_yet(variable: str):
    require_server(variable)

    usable, message = dev.probe(on_server(variable, "asyncfactory_no_such_database"), sys.executable)

    assert usable, message
    assert message.startswith("the server answers at "), message
    assert "'asyncfactory_no_such_database' does not exist" in message
    assert "'test_asyncfactory_no_such_database'" in message


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgres://postgres:Zq9%ZZsecret@127.0.0.1:1/x", "cannot use the server at 127.0.0.1:1 as 'postgres'"),
        ("mysql://root:Zq9%ZZsecret@127.0.0.1:1/x", "cannot use the server at 127.0.0.1:1 as 'root'"),
        ("mysql://root:se/cret@127.0.0.1:3306/x", "cannot parse the URL: DATABASE_URL is malformed: percent-encode"),
    ],
)
def test_the_probe_says_why_a_server_cannot_be_used_without_the_password(url: str, why: str):
    usable, message = dev.probe(url, sys.executable)

    assert not usable
    assert message.startswith(why), message
    assert "cret" not in message
    assert "Zq9" not in message


def test_the_venv_stamp_covers_the_nested_requirement_files():
    names = {path.name for path in dev.requirement_files("requirements-dev.txt")}

    assert names == {"requirements-dev.txt", "requirements.txt", "requirements-mysql.txt"}
