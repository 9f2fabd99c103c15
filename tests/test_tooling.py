"""dev.py and main.py as users run them: no password in any message, the server probe says why,
main.py on MariaDB. Subprocesses use the project's settings, not the test settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import dev
from benchmarks.databases import connect_server
from tests.servers import BACKENDS, mysqlclient_installed, on_server, require_server, scratch_database, unavailable

ROOT = Path(__file__).resolve().parent.parent


def run_main(database_url: str, *python_flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAME")}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, *python_flags, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


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


def test_manage_without_django_says_how_to_install_and_run():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-S", "manage.py", "seed", "app.factories.UserFactory", "10"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "No module named 'django'" in done.stderr
    assert "python3 dev.py manage seed app.factories.UserFactory 10" in done.stderr
    assert "pip install -r requirements.txt" in done.stderr


# Runs main.py with `import MySQLdb` failing, as where mysqlclient is not installed.
WITHOUT_MYSQLCLIENT = "import runpy, sys; sys.modules['MySQLdb'] = None; runpy.run_path('main.py', run_name='__main__')"


def test_without_mysqlclient_django_loads_its_mysql_backend_on_pymysql():
    code = WITHOUT_MYSQLCLIENT.split("; runpy")[0] + (
        "; import django; django.setup(); from django.db import connection; import MySQLdb; "
        "print(connection.vendor, MySQLdb.__name__, MySQLdb.version_info)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_NAME"}
    env.update(DATABASE_URL="mysql://root@127.0.0.1:1/x", DJANGO_SETTINGS_MODULE="settings")

    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mysql pymysql (2, 2,"), done.stdout  # Django 5.2-6.1 accept mysqlclient 2.2.1+


@pytest.fixture
def scratch_mariadb_database() -> Iterator[str]:
    with scratch_database("TEST_MYSQL_URL", "asyncfactory_main") as database:
        yield database.name


@pytest.mark.parametrize("driver", ["mysqlclient", "PyMySQL"])
def test_main_runs_on_mariadb(scratch_mariadb_database: str, driver: str):
    if driver == "mysqlclient" and not mysqlclient_installed():
        unavailable("mysqlclient is not installed (python3 dev.py test says why)")
    flags = ["-c", WITHOUT_MYSQLCLIENT] if driver == "PyMySQL" else []

    done = run_main(on_server("TEST_MYSQL_URL", scratch_mariadb_database), *flags)

    assert done.returncode == 0, done.stderr
    assert f"mysql database '{scratch_mariadb_database}'" in done.stdout
    assert ("driver: PyMySQL" in done.stdout) == (driver == "PyMySQL")
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
    test_name = os.environ.get("TEST_DATABASE_NAME") or "test_asyncfactory_no_such_database"
    assert f"the tests use {test_name!r}" in message


@pytest.fixture(params=["TEST_POSTGRES_URL", "TEST_MYSQL_URL"])
def user_who_cannot_create_databases(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new user of the server, who may log in but not create databases; dropped afterwards."""
    variable: str = request.param
    backend = BACKENDS[variable]
    name, password = f"asyncfactory_nocreate_{os.getpid()}", "Zq9-nocreate"
    admin = connect_server(backend, require_server(variable))
    cursor = admin.cursor()
    try:
        if backend == "postgresql":
            user = f'"{name}"'
            cursor.execute(f"CREATE ROLE {user} LOGIN NOCREATEDB PASSWORD '{password}'")
        else:  # as the server sees connections from this host
            cursor.execute("SELECT SUBSTRING_INDEX(USER(), '@', -1)")
            user = f"'{name}'@'{cursor.fetchone()[0]}'"
            cursor.execute(f"CREATE USER {user} IDENTIFIED BY '{password}'")
    except Exception as exc:
        admin.close()
        unavailable(f"{variable}: this user cannot create another user to test with: {exc}")
    try:
        yield on_server(variable, "asyncfactory_no_such_database", login=f"{name}:{password}")
    finally:
        cursor.execute(f"DROP {'ROLE' if backend == 'postgresql' else 'USER'} {user}")
        admin.close()


def test_the_probe_says_when_the_tests_cannot_create_their_database(user_who_cannot_create_databases: str):
    usable, message = dev.probe(user_who_cannot_create_databases, sys.executable)

    assert not usable
    assert "the server answers at " in message
    assert "but the tests cannot create their database" in message, message
    assert "Zq9" not in message


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgres://postgres:Zq9%ZZsecret@127.0.0.1:1/x", "cannot connect to the server at 127.0.0.1:1 as 'postgres'"),
        ("mysql://root:Zq9%ZZsecret@127.0.0.1:1/x", "cannot connect to the server at 127.0.0.1:1 as 'root'"),
        ("mysql://root:se/cret@127.0.0.1:3306/x", "cannot parse the URL: DATABASE_URL is malformed: percent-encode"),
    ],
)
def test_the_probe_says_why_a_server_cannot_be_used_without_the_password(url: str, why: str):
    usable, message = dev.probe(url, sys.executable)

    assert not usable
    assert message.startswith(why), message
    assert "cret" not in message
    assert "Zq9" not in message


def test_a_skip_message_ends_its_sentences_once():
    assert dev.sentence("accepting TCP/IP connections?") == "accepting TCP/IP connections?"
    assert dev.sentence("Connection refused") == "Connection refused."
    assert dev.sentence("refused.") == "refused."


def test_the_line_that_says_why_mysqlclient_failed_to_build_is_found_in_pips_output():
    no_library = """  error: subprocess-exited-with-error
      Trying pkg-config --exists mysqlclient
      Command 'pkg-config --exists mysqlclient' returned non-zero exit status 1.
        File "<string>", line 27, in find_package_name
      Exception: Can not find valid pkg-config name.
      Specify MYSQLCLIENT_CFLAGS and MYSQLCLIENT_LDFLAGS env vars manually
  note: This error originates from a subprocess, and is likely not a problem with pip.
"""
    no_headers = """      MySQLdb/_mysql.c:29:10: fatal error: Python.h: No such file or directory
      error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1
  ERROR: Failed building wheel for mysqlclient
"""

    assert dev.build_error(no_library) == "Exception: Can not find valid pkg-config name."
    assert dev.build_error(no_headers) == "MySQLdb/_mysql.c:29:10: fatal error: Python.h: No such file or directory"


def test_the_venv_stamp_covers_the_nested_requirement_files():
    names = {path.name for path in dev.requirement_files("requirements-dev.txt")}

    assert names == {"requirements-dev.txt", "requirements.txt", "requirements-pymysql.txt"}
