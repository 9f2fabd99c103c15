"""Issues 9 and 19: async tests where Django projects already live (the project in tests/asyncproject).

Each test copies ``tests/asyncproject`` into a temporary directory with ``app/factory`` copied as
``myproject/factory``, the way a user copies it, writes the one plugin line into the project's
``conftest.py`` and runs the project's own suite there in a subprocess: ``pytest`` with the
project's ``pytest.ini`` (not this repository's configuration), or ``manage.py test``. The
database is the main suite's (``DATABASE_URL``: SQLite when unset, else PostgreSQL or MariaDB),
with a test database of its own per run. Outcomes are read from a JUnit XML report and must be
exact: every test passes except the ``test_must_fail_*`` tests, which fail with their message;
every file holds the number of tests listed here, so a test that is silently skipped or not
collected is a failure too; the run prints no warning, and drops its test databases.

Every project file starts and ends with leak probes (``test_probe_*``: the tables are empty), and
has more after the tests that create rows, so rows leaking from one test into another fail a probe.
Each pytest set-up has a control: the same options without the plugin line, where every file in
which isolation is at stake must fail.

The set-ups, by runner: pytest-asyncio strict mode (strict-marked, mixed-*, xdist, session-fixtures)
and auto mode (auto-unmarked); the plugin's runner (unmarked files under strict mode, and
no-pytest-asyncio); anyio (check_anyio.py in mixed-*, no-pytest-asyncio and xdist); pytest-factoryboy
(check_factoryboy.py in auto-unmarked, mixed-*, no-pytest-asyncio and xdist, and a model fixture in
check_marked.py and check_anyio.py); pytest-xdist (xdist); session-scoped async fixtures
(session-fixtures); Django's runner (django-runner, django-parallel).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "asyncproject"
PACKAGE = ROOT / "app" / "factory"
PLUGIN_LINE = 'pytest_plugins = ["myproject.factory.pytest_plugin"]\n'
TIMEOUT = 300

# The project's test files, by style.
SYNC = "tests/check_sync.py"
MARKED = "tests/check_marked.py"
MODULE_LOOP = "tests/check_marked_module_loop.py"
MARKED_FAILURES = "tests/check_marked_failures.py"
LEGACY = "tests/check_legacy_marked.py"
UNMARKED = "tests/check_unmarked.py"
QUERY_COUNTS = "tests/check_query_counts.py"
UNMARKED_FAILURES = "tests/check_unmarked_failures.py"
TESTCASE = "tests/check_testcase.py"
ANYIO = "tests/check_anyio.py"
FACTORYBOY = "tests/check_factoryboy.py"
SESSION = "tests/check_session_fixtures.py"

#: How many tests each file holds (a parametrized test counts once per parameter).
TESTS_PER_FILE = {
    SYNC: 9,
    MARKED: 28,
    MODULE_LOOP: 6,
    MARKED_FAILURES: 12,
    LEGACY: 4,
    UNMARKED: 26,
    QUERY_COUNTS: 11,
    UNMARKED_FAILURES: 12,
    TESTCASE: 10,
    ANYIO: 11,
    FACTORYBOY: 16,
    SESSION: 8,
}

#: Files that pass without the plugin too: Django's TestCase isolates itself, sync tests need nothing.
NOTHING_AT_STAKE = {SYNC, TESTCASE}

# What the plugin's isolation guard says: what happened and the fix.
GUARD = r"opened its own connection(?s:.*)Fix:(?s:.*)thread_sensitive=True(?s:.*)transaction=True"

#: The message each test_must_fail_* test must fail with (a regular expression).
MUST_FAIL = {
    "test_must_fail_wrong_query_count": r"Expected to perform 1 queries but 2 were done",
    "test_must_fail_wrong_count_in_a_plain_with": r"Expected to perform 1 queries but 2 were done",
    "test_must_fail_orm_write_with_thread_sensitive_false": GUARD,
    "test_must_fail_orm_write_in_a_thread_sensitive_context": GUARD,
    "test_must_fail_orm_write_in_a_thread_of_the_test": GUARD,
    # pytest-django's own message: a test without django_db gets no connection, lent or not.
    "test_must_fail_database_access_without_the_mark": r"Database access not allowed",
    "test_must_fail_model_fixture_from_async_code": r"set up inside a running event loop(?s:.*)Fix: request 'author'",
}

# The project's pytest.ini names no pytest-asyncio option: a project without it would not.
STRICT = ("-o", "asyncio_mode=strict", "-o", "asyncio_default_fixture_loop_scope=function")
AUTO = ("-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function")
NO_PYTEST_ASYNCIO = ("-p", "no:asyncio")
XDIST = ("-n", "2", "--dist", "loadfile")
MIXED = [
    LEGACY,
    UNMARKED,
    SYNC,
    ANYIO,
    MARKED_FAILURES,
    MARKED,
    FACTORYBOY,
    QUERY_COUNTS,
    MODULE_LOOP,
    UNMARKED_FAILURES,
]

#: name: (pytest options, test files in the order given on the command line)
SETUPS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    # pytest-xdist: two workers, each file on one (first: the longest run).
    "xdist": ((*STRICT, *XDIST), [SYNC, MARKED, UNMARKED, ANYIO, FACTORYBOY, MARKED_FAILURES, QUERY_COUNTS]),
    # a project that already uses pytest-asyncio in strict mode, its tests marked.
    "strict-marked": (STRICT, [SYNC, MARKED, MODULE_LOOP, MARKED_FAILURES, TESTCASE]),
    # pytest-asyncio in auto mode, the tests unmarked.
    "auto-unmarked": (AUTO, [UNMARKED, QUERY_COUNTS, UNMARKED_FAILURES, SYNC, MARKED, FACTORYBOY]),
    # strict mode, marked files (one of them legacy) among unmarked, anyio, pytest-factoryboy and
    # sync ones, both ways round.
    "mixed-forward": (STRICT, MIXED),
    "mixed-reversed": (STRICT, MIXED[::-1]),
    # no pytest-asyncio: the plugin runs every async test, but anyio's.
    "no-pytest-asyncio": (
        NO_PYTEST_ASYNCIO,
        [UNMARKED, QUERY_COUNTS, SYNC, UNMARKED_FAILURES, TESTCASE, ANYIO, FACTORYBOY],
    ),
    # session-scoped async fixtures whose rows every test sees: alone, as no other file expects them.
    "session-fixtures": (STRICT, [SESSION]),
}

#: The controls: set-ups' options without the plugin line, on the files of the set-ups with those options.
#: One strict-mode control, under xdist, stands for strict-marked, mixed-*, and xdist.
CONTROLS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    "control-strict-xdist": ((*STRICT, *XDIST), [*MIXED, TESTCASE]),
    "control-auto": SETUPS["auto-unmarked"],
    "control-no-pytest-asyncio": SETUPS["no-pytest-asyncio"],
    "control-session-fixtures": SETUPS["session-fixtures"],
}


def make_project(tmp_path: Path, conftest: str = PLUGIN_LINE) -> Path:
    """A copy of the project, with its own copy of the factory package and the given conftest.py."""
    project = tmp_path / "asyncproject"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "db.sqlite3", ".pytest_cache")
    shutil.copytree(PROJECT, project, ignore=ignore)
    shutil.copytree(PACKAGE, project / "myproject" / "factory", ignore=ignore)
    (project / "conftest.py").write_text(conftest)
    return project


def project_env() -> dict[str, str]:
    """The main suite's environment for the project: its DATABASE_URL, a test database of its own."""
    drop = {"DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAME", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST_")}
    env["DJANGO_SETTINGS_MODULE"] = "myproject.settings"
    url = os.environ.get("DATABASE_URL", "")
    env["DATABASE_URL"] = url
    if url and not url.startswith("sqlite"):
        # SQLite tests use an in-memory database; a server needs a name no parallel run uses.
        env["TEST_DATABASE_NAME"] = f"test_asyncproject_{uuid.uuid4().hex[:12]}"
    return env


@dataclass
class Run:
    returncode: int
    output: str
    #: "tests.check_x[.Class]::test_name" -> (outcome, failure text)
    cases: dict[str, tuple[str, str]]

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


TEARDOWN_ERROR = "Error when trying to teardown test databases"
# The run's test database, and those of its xdist workers.
DROP_TEST_DATABASES = """
import os
from django.db import connection
for suffix in ("", "_gw0", "_gw1"):
    try:
        connection.creation._destroy_test_db(os.environ["TEST_DATABASE_NAME"] + suffix, verbosity=0)
    except Exception:
        pass  # never created, or dropped by the run
"""


def run_pytest(project: Path, *args: str) -> Run:
    report = project / "report.xml"
    # hypothesis is the main suite's, not the project's: its plugin's imports cost a second per process.
    plugins = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    command = [sys.executable, "-m", "pytest", "-rA", *plugins, f"--junitxml={report}", *args]
    env = project_env()
    output = ""
    try:
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        output = done.stdout + done.stderr
    finally:
        if "TEST_DATABASE_NAME" in env and (TEARDOWN_ERROR in output or not output):
            # A connection left open (the control run's, or a timeout) kept pytest-django from dropping
            # the test database: drop it now that the process is gone, so none piles up on the server.
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", DROP_TEST_DATABASES],
                cwd=project,
                env=env,
                capture_output=True,
                timeout=TIMEOUT,
            )
    cases: dict[str, tuple[str, str]] = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            outcome, text = "passed", ""
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    # A failure in the call and an error in teardown: the error is what counts.
                    if outcome in ("passed", "failure"):
                        outcome = child.tag
                    text += f"{child.get('message', '')}\n{child.text or ''}\n"
            key = f"{case.get('classname')}::{case.get('name')}"
            cases[key] = ({"failure": "failed"}.get(outcome, outcome), text)
    return Run(done.returncode, output, cases)


def module_of(key: str) -> str:
    """'tests.check_marked.TestInAClass::test_x' -> 'tests/check_marked.py'."""
    parts = key.split("::")[0].split(".")
    return "/".join(parts[:2]) + ".py"


def expect_exact_outcomes(run: Run, files: list[str]) -> None:
    """Every test of ``files`` passed but the test_must_fail_* ones, which failed with their message."""
    problems: list[str] = []
    counts = Counter(module_of(key) for key in run.cases)
    for file in files:
        if counts[file] != TESTS_PER_FILE[file]:
            problems.append(f"{file}: {counts[file]} tests reported, {TESTS_PER_FILE[file]} expected")
    for unexpected in sorted(set(counts) - set(files)):
        problems.append(f"{unexpected}: {counts[unexpected]} unexpected reports (a collection error?)")
    must_fail = 0
    for key, (outcome, text) in run.cases.items():
        name = key.split("::")[-1].split("[")[0]
        message = MUST_FAIL.get(name)
        if message is None:
            if outcome != "passed":
                problems.append(f"{key}: {outcome.upper()}, expected to pass\n{text[-3000:]}")
            continue
        must_fail += 1
        if outcome != "failed":
            problems.append(f"{key}: {outcome.upper()}, expected to FAIL with {message!r}\n{text[-3000:]}")
        elif not re.search(message, text):
            problems.append(f"{key}: failed, but not with {message!r}:\n{text[-3000:]}")
    # SQLite's error, not the plugin's message that mentions it.
    for locked in re.findall(r"\w+Error: database (?:table )?is locked", run.output):
        problems.append(f"{locked!r} appears in the output")
    if TEARDOWN_ERROR in run.output:
        problems.append("the test database could not be dropped (a connection left open?)")
    warnings = re.search(r"^=+ warnings summary =+$(?s:.*?)^-- Docs: ", run.output, re.MULTILINE)
    if warnings:
        problems.append(f"the run printed warnings:\n{warnings.group()}")
    expected_code = 1 if must_fail else 0
    if run.returncode != expected_code:
        problems.append(f"pytest exited with {run.returncode}, expected {expected_code}")
    if problems:
        pytest.fail("\n\n".join(problems) + "\n\n--- end of the output ---\n" + run.tail(), pytrace=False)


def passed(run: Run) -> int:
    return sum(outcome == "passed" for outcome, _ in run.cases.values())


# --- the runs: started together, PARALLEL at a time, as soon as the module's first test needs one ---


def run_setup(tmp_path: Path, setup: str) -> Run:
    options, files = SETUPS[setup]
    return run_pytest(make_project(tmp_path), *options, *files)


def run_django_runner(tmp_path: Path, options: tuple[str, ...] = ()) -> Run:
    command = [sys.executable, "manage.py", "test", "tests.check_testcase", "--noinput", "-v", "2", *options]
    project = make_project(tmp_path)
    done = subprocess.run(command, cwd=project, env=project_env(), capture_output=True, text=True, timeout=TIMEOUT)
    return Run(done.returncode, done.stdout + done.stderr, {})


def run_control(tmp_path: Path, control: str) -> Run:
    """A set-up's options and files, without the plugin line."""
    options, files = CONTROLS[control]
    # Only outcomes count: one line per failure, not tracebacks that cost as much as the tests.
    return run_pytest(make_project(tmp_path, conftest="# no plugin line\n"), "--tb=line", *options, *files)


def run_readme_line(tmp_path: Path) -> Run:
    """The README's plugin line, which names app.factory, in a project whose copy is myproject.factory."""
    return run_pytest(make_project(tmp_path, conftest='pytest_plugins = ["app.factory.pytest_plugin"]\n'), SYNC)


JOBS: dict[str, Callable[[Path], Run]] = {
    **{setup: functools.partial(run_setup, setup=setup) for setup in SETUPS},
    **{control: functools.partial(run_control, control=control) for control in CONTROLS},
    "django-runner": run_django_runner,
    "django-parallel": functools.partial(run_django_runner, options=("--parallel", "2")),
    "readme-line": run_readme_line,
}
PARALLEL = 2


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Run]]]:
    """The runs that this session's selected tests of this module need, started at once."""
    wanted: list[str] = []
    for item in request.session.items:
        if getattr(item, "module", None) is not request.module:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        job = next(iter(params.values()), None) if params else JOB_OF_TEST.get(getattr(item, "originalname", ""))
        if job is not None and job not in wanted:
            wanted.append(job)
    wanted.sort(key=lambda job: "xdist" not in job)  # the longest runs (three processes each) first
    pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="asyncproject")
    futures = {job: pool.submit(JOBS[job], tmp_path_factory.mktemp(job)) for job in wanted}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("setup", SETUPS)
def test_async_tests_are_rolled_back_in_every_setup(runs: dict[str, Future[Run]], setup: str) -> None:
    _, files = SETUPS[setup]

    run = runs[setup].result()

    expect_exact_outcomes(run, files)
    must_fail = sum(key.split("::")[-1].startswith("test_must_fail_") for key in run.cases)
    assert passed(run) == sum(TESTS_PER_FILE[f] for f in files) - must_fail


@pytest.mark.parametrize("job", ["django-runner", "django-parallel"])
def test_django_test_runner_runs_testcase_and_transactiontestcase(runs: dict[str, Future[Run]], job: str) -> None:
    run = runs[job].result()

    tests = TESTS_PER_FILE[TESTCASE]
    assert run.returncode == 0, run.output
    assert re.search(rf"^Ran {tests} tests in ", run.output, re.MULTILINE), run.output
    ok = re.findall(r"^test_\w+ \(tests\.check_testcase\.\w+\.test_\w+\)(?s:.*?) \.\.\. ok$", run.output, re.MULTILINE)
    assert len(ok) == tests, run.output
    assert re.search(r"^OK$", run.output, re.MULTILINE), run.output
    clones = run.output.count("Cloning test database for alias 'default'")
    assert clones == (2 if job == "django-parallel" else 0), run.output


@pytest.mark.parametrize("control", CONTROLS)
def test_without_the_plugin_line_every_file_at_stake_fails(runs: dict[str, Future[Run]], control: str) -> None:
    """The controls: without the plugin, rows leak (a probe fails) and each file where isolation is at stake fails."""
    _, files = CONTROLS[control]

    run = runs[control].result()

    failed = {key for key, (outcome, _) in run.cases.items() if outcome != "passed"}
    failed_files = {module_of(key) for key in failed if not key.split("::")[-1].startswith("test_must_fail_")}
    assert run.returncode == 1, run.tail()
    assert any("test_probe_" in key for key in failed), f"no leak probe failed without the plugin:\n{run.tail()}"
    assert set(files) - NOTHING_AT_STAKE <= failed_files, f"passed without the plugin:\n{run.tail()}"


def test_the_readme_plugin_line_fails_in_a_copy_of_the_package(runs: dict[str, Future[Run]]) -> None:
    """The copy lives at myproject/factory: the line must name it, app.factory does not exist there."""
    run = runs["readme-line"].result()

    assert run.returncode != 0
    assert "No module named 'app'" in run.output, run.tail()


JOB_OF_TEST = {
    test_the_readme_plugin_line_fails_in_a_copy_of_the_package.__name__: "readme-line",
}


def test_the_project_migrates_and_has_no_pending_model_change(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    env = {**project_env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )

    migrated = manage("migrate", "--no-input")
    check = manage("makemigrations", "--check", "--dry-run")

    assert migrated.returncode == 0, migrated.stderr
    assert "Applying library.0001_initial... OK" in migrated.stdout
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No changes detected" in check.stdout
