"""docs/testing.md followed literally: a new ``startproject``, the page's files and commands; green, no warning.

The page's files are its code blocks whose first line is a comment naming one (``# library/models.py``).
This test makes the project as the page says (its shell commands must be on the page as written),
writes those files in page order, and runs the page's suite three ways: ``pytest``, ``pytest -n 2
--dist loadfile`` and ``python manage.py test --parallel 2``. Each must pass every test of the
page and print no warning; without the plugin line, the page's suite must fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "testing.md"
TIMEOUT = 300

FILE_BLOCK = re.compile(r"^```(?:python|ini)[^\n]*\n# (?P<path>[\w/]+\.(?:py|ini))\n(?P<body>.*?)^```$", re.M | re.S)
COMMANDS = [
    "django-admin startproject mysite",
    "python manage.py startapp library",
    "cp -r path/to/this/template/app/factory mysite/factory",
    "python manage.py makemigrations library",
    'Add `"library"` to `INSTALLED_APPS`',
]

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="the page's new project has its own SQLite database, whatever the suite's: followed in the SQLite run",
)


def page_files(text: str) -> dict[str, str]:
    """The files the page shows, by path, in page order."""
    return {found["path"]: f"# {found['path']}\n{found['body']}" for found in FILE_BLOCK.finditer(text)}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python *args`` in ``cwd``, with none of this suite's settings: a reader's shell."""
    drop = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "TEST_DATABASE_NAME", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def follow_the_page(tmp_path: Path, text: str) -> Path:
    for command in COMMANDS:
        assert command in text, f"the page no longer says {command!r}: update this test with it"
    assert run(["-m", "django", "startproject", "mysite"], tmp_path).returncode == 0
    project = tmp_path / "mysite"
    assert run(["manage.py", "startapp", "library"], project).returncode == 0
    shutil.copytree(
        ROOT / "app" / "factory", project / "mysite" / "factory", ignore=shutil.ignore_patterns("__pycache__")
    )
    settings = project / "mysite" / "settings.py"
    apps = "    'django.contrib.staticfiles',\n"  # startproject's INSTALLED_APPS ends with it
    assert apps in settings.read_text()
    settings.write_text(settings.read_text().replace(apps, f"{apps}    'library',\n"))
    for path, body in page_files(text).items():
        (project / path).write_text(body)
    migrated = run(["manage.py", "makemigrations", "library"], project)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return project


def test_the_page_shows_every_file_of_its_project() -> None:
    files = page_files(PAGE.read_text())

    assert list(files) == [
        "library/models.py",
        "library/factories.py",
        "library/views.py",
        "mysite/urls.py",
        "pytest.ini",
        "conftest.py",
        "library/test_marked.py",
        "library/test_unmarked.py",
        "library/test_anyio.py",
        "library/tests.py",
        "library/test_factoryboy.py",
        "library/test_session_rows.py",
        "library/test_queries.py",
    ]


def test_a_new_project_that_follows_the_page_passes_without_warnings(tmp_path: Path) -> None:
    text = PAGE.read_text()
    project = follow_the_page(tmp_path, text)
    tests = sum(len(re.findall(r"^\s*(?:async )?def test_", body, re.M)) for body in page_files(text).values())
    testcase_tests = len(re.findall(r"^\s*(?:async )?def test_", (project / "library" / "tests.py").read_text(), re.M))
    pytest_args = ["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"]  # the suite's, not the page's

    control = shutil.copytree(project, tmp_path / "without-the-plugin-line")
    (control / "conftest.py").write_text("")

    with ThreadPoolExecutor(4) as pool:
        plain = pool.submit(run, pytest_args, project)
        xdist = pool.submit(run, [*pytest_args, "-n", "2", "--dist", "loadfile"], project)
        django = pool.submit(run, ["manage.py", "test", "--parallel", "2"], project)
        without = pool.submit(run, [*pytest_args, "-rf"], control)

    for done in (plain.result(), xdist.result()):
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert re.search(rf"^=+ {tests} passed in [\d.]+s", output, re.M), output  # nothing but passes
    output = django.result().stdout + django.result().stderr
    assert django.result().returncode == 0, output
    assert re.search(rf"^Ran {testcase_tests} tests in .*\n\nOK$", output, re.M), output
    # Without the plugin line, the async tests' rows stay: the next test sees Ursula's books.
    output = without.result().stdout + without.result().stderr
    assert without.result().returncode == 1, output
    assert "FAILED library/test_marked.py::test_the_next_test_sees_none_of_them" in output, output
