"""``manage.py seed``: chunked commits, --create, --seed, bad input, progress, Ctrl-C.

In-process tests use ``call_command`` in transactional tests: the command runs its chunks in its
own event loop, whose ORM thread has its own connection, so its rows are really committed.
Subprocess tests run ``manage.py seed`` as a user does, on a database the test owns: a migrated
temporary SQLite file, or on PostgreSQL/MariaDB the test database itself (flushed afterwards).
"""

from __future__ import annotations

import gc
import os
import random
import re
import signal
import subprocess
import sys
import time
import types
import weakref
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar

import factory
import factory.fuzzy
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from factory.django import DjangoModelFactory

from app.factory import AsyncFactory
from app.models import User
from tests.bulkapp.models import Place, Restaurant
from tests.conftest import ProjectDatabase, project_env
from tests.testapp.models import Person

ROOT = Path(__file__).resolve().parent.parent
transactional = pytest.mark.django_db(transaction=True)


def seed(*args: str) -> tuple[str, str]:
    """Run the command in this process; return its stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command("seed", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rows() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


# Factories the tests seed, by dotted path -------------------------------------------------------


class FailOn:
    """Makes the n-th object's post-generation hook raise ``error``."""

    calls = 0
    at = 0
    error: type[BaseException] = RuntimeError


class FailingUserFactory(AsyncFactory[User]):
    """Its hook runs after the chunk's rows are inserted: a failure there must roll them back."""

    name = factory.Sequence(lambda n: f"failing {n}")

    class Meta:
        model = User
        skip_postgeneration_save = True

    @factory.post_generation
    def fail(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        FailOn.calls += 1
        if FailOn.calls == FailOn.at:
            raise FailOn.error(f"object {FailOn.calls} failed")


class Alive:
    """Objects made so far that are still alive, seen from the first object of each chunk."""

    objects: ClassVar[weakref.WeakSet[User]] = weakref.WeakSet()
    seen: ClassVar[list[int]] = []
    made = 0
    batch = 1


class TrackedUserFactory(AsyncFactory[User]):
    name = factory.Sequence(lambda n: f"tracked {n}")

    class Meta:
        model = User
        skip_postgeneration_save = True

    @factory.post_generation
    def track(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if Alive.made % Alive.batch == 0:
            gc.collect()
            Alive.seen.append(len(Alive.objects))
        Alive.made += 1
        Alive.objects.add(self)


class RowsSeen:
    rows: ClassVar[list[int]] = []


class RowCountingUserFactory(AsyncFactory[User]):
    """Its hook records how many users exist when it runs, which tells create_batch from bulk."""

    name = factory.Sequence(lambda n: f"counting {n}")

    class Meta:
        model = User
        skip_postgeneration_save = True

    @factory.post_generation
    def count(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        RowsSeen.rows.append(User.objects.count())


class SeededPersonFactory(AsyncFactory[Person]):
    name = factory.Faker("name")
    email = factory.Faker("email")
    country = factory.fuzzy.FuzzyChoice(["FR", "DE", "IT", "ES", "PT", "NL"])
    rank = factory.LazyFunction(lambda: random.randint(0, 10**9))

    class Meta:
        model = Person


class RestaurantFactory(AsyncFactory[Restaurant]):
    name = factory.Sequence(lambda n: f"restaurant {n}")

    class Meta:
        model = Restaurant


class PlainUserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User


class AbstractFactory(AsyncFactory[Any]):
    class Meta:
        abstract = True


# In-process -------------------------------------------------------------------------------------


@transactional
def test_bulk_seeding_commits_every_object_and_reports_rows_per_model() -> None:
    before = rows()

    out, err = seed("app.factories.FriendFactory", "250", "--batch-size", "100")

    assert rows()["app.Friend"] == before["app.Friend"] + 250
    assert rows()["app.User"] == before["app.User"] + 500
    assert "Seeded 250 app.Friend objects with app.factories.FriendFactory" in out
    assert "3 chunk(s) of up to 100, each one bulk_create_batch transaction" in out
    assert re.search(r"app\.User\s+\+500\n", out)
    assert re.search(r"app\.Friend\s+\+250\n", out)
    assert re.search(r"total\s+\+750 rows, [\d,]+ rows/s", out)
    assert "Peak memory (RSS)" in out
    # Not a terminal: plain lines, one per 10% (here one per chunk).
    assert [line.split(" (")[0] for line in err.splitlines()] == [
        "seed: 100/250 app.Friend",
        "seed: 200/250 app.Friend",
        "seed: 250/250 app.Friend",
    ]


@transactional
def test_a_failing_chunk_is_rolled_back_and_the_chunks_before_it_are_kept() -> None:
    for options, method in [([], "bulk_create_batch"), (["--create"], "create_batch")]:
        FailOn.calls, FailOn.at, FailOn.error = 0, 8, RuntimeError
        before = rows()

        with pytest.raises(CommandError) as raised:
            seed("tests.test_seed.FailingUserFactory", "10", "--batch-size", "3", *options)

        assert rows()["app.User"] == before["app.User"] + 6  # chunks 1 and 2; chunk 3 (objects 7 to 9) rolled back
        message = str(raised.value)
        assert f"FailingUserFactory.{method}(3) failed on objects 7 to 9, and that chunk was rolled back" in message
        assert "RuntimeError: object 8 failed" in message
        assert re.search(r"Kept 6 rows in the .*, from whole committed chunks \(app\.User \+6\)\.", message)


@transactional
def test_an_interruption_inside_a_chunk_rolls_it_back_and_says_what_was_kept() -> None:
    # A KeyboardInterrupt raised in the ORM thread: the path a Ctrl-C takes when it lands there.
    FailOn.calls, FailOn.at, FailOn.error = 0, 5, KeyboardInterrupt
    before = rows()

    with pytest.raises(CommandError) as raised:
        seed("tests.test_seed.FailingUserFactory", "10", "--batch-size", "2")

    assert type(raised.value).__name__ == "Interrupted"
    assert raised.value.returncode == 130
    assert rows()["app.User"] == before["app.User"] + 4
    assert re.fullmatch(
        r"kept 4 rows in the .*, from whole committed chunks \(app\.User \+4\); no chunk is half written\. "
        r"10 app\.User objects were asked for\.",
        str(raised.value),
    )


@transactional
def test_create_switches_to_create_batch() -> None:
    seen = {}
    for options in ([], ["--create"]):
        RowsSeen.rows = []
        before = User.objects.count()
        out, _ = seed("tests.test_seed.RowCountingUserFactory", "5", "--batch-size", "3", *options)
        seen[out.split("each one ")[1].split()[0]] = [rows - before for rows in RowsSeen.rows]

    assert seen == {
        "bulk_create_batch": [3, 3, 3, 5, 5],  # a hook runs once its whole round is inserted
        "create_batch": [1, 2, 3, 4, 5],  # object by object
    }


@transactional
def test_the_command_keeps_no_object_between_chunks() -> None:
    Alive.objects, Alive.seen, Alive.made, Alive.batch = weakref.WeakSet(), [], 0, 10

    seed("tests.test_seed.TrackedUserFactory", "50", "--batch-size", "10")

    # At the first object of each chunk, nothing from the earlier chunks is still alive.
    assert Alive.seen == [0, 0, 0, 0, 0]


@transactional
def test_the_same_seed_gives_the_same_values_in_an_empty_database() -> None:
    def run(*options: str) -> list[tuple[str, str, str, int]]:
        seed("tests.test_seed.SeededPersonFactory", "30", "--batch-size", "7", *options)
        values = list(Person.objects.order_by("pk").values_list("name", "email", "country", "rank"))
        Person.objects.all().delete()
        return values

    first = run("--seed", "42")
    again = run("--seed", "42")
    created = run("--seed", "42", "--create")
    other = run("--seed", "43")

    assert len(first) == 30
    assert again == first
    assert created == first  # create_batch and bulk_create_batch evaluate declarations alike
    assert other != first


@transactional
def test_a_factory_bulk_create_cannot_insert_says_to_add_create() -> None:
    before = rows()

    with pytest.raises(CommandError, match=r"multi-table inherited model.*With this command: add --create\."):
        seed("tests.test_seed.RestaurantFactory", "3")
    assert rows() == before

    seed("tests.test_seed.RestaurantFactory", "3", "--create")
    assert Restaurant.objects.count() == 3
    assert Place.objects.count() == 3


@pytest.mark.django_db
def test_a_count_of_zero_writes_nothing() -> None:
    before = rows()

    out, err = seed("app.factories.UserFactory", "0")

    assert rows() == before
    assert "Seeded 0 app.User objects" in out
    assert err == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["app.factories.NoSuchFactory", "5"], r"cannot import 'app\.factories\.NoSuchFactory': .*NoSuchFactory"),
        (["nowhere.Factory", "5"], r"cannot import 'nowhere\.Factory': No module named 'nowhere'"),
        (["UserFactory", "5"], r"cannot import 'UserFactory'.*e\.g\. app\.factories\.UserFactory"),
        (
            ["tests.test_seed.PlainUserFactory", "5"],
            r"plain factory_boy factory.*subclass app\.factory\.AsyncFactory instead "
            r"\(class PlainUserFactory\(AsyncFactory\[User\]\)\)",
        ),
        (["app.models.User", "5"], r"app\.models\.User is a Django model, not a factory"),
        (["tests.test_seed.seed", "5"], r"tests\.test_seed\.seed is a function, not a factory"),
        (["tests.test_seed.AbstractFactory", "5"], r"is an abstract factory.*AbstractFactory\.Meta\.model"),
        (["app.factory.AsyncFactory", "5"], r"app\.factory\.AsyncFactory is an abstract factory"),
        (["app.factories.UserFactory", "-1"], r"COUNT must be a whole number, 0 or more, not -1\."),
        (["app.factories.UserFactory", "ten"], r"COUNT must be a whole number, 0 or more, not 'ten'\."),
        (["app.factories.UserFactory", "5", "--batch-size", "0"], r"--batch-size must be .* 1 or more, not 0\."),
        (["app.factories.UserFactory", "5", "--batch-size", "1.5"], r"--batch-size must be .*, not '1\.5'\."),
        (["app.factories.UserFactory", "5", "--seed", "x"], r"--seed must be a whole number, not 'x'\."),
    ],
)
def test_bad_input_is_refused_with_the_fix_and_writes_nothing(args: list[str], message: str) -> None:
    before = rows()

    with pytest.raises(CommandError, match=message):
        seed(*args)

    assert rows() == before


@pytest.mark.django_db
def test_a_module_that_fails_on_import_is_one_line_naming_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = types.ModuleType("seed_broken")

    def fail(name: str) -> object:
        raise RuntimeError("Model class x.Y isn't in an application in INSTALLED_APPS.")

    broken.__getattr__ = fail  # PEP 562: reading the factory raises, as a module that fails on import
    monkeypatch.setitem(sys.modules, "seed_broken", broken)
    before = rows()

    with pytest.raises(CommandError, match=r"importing 'seed_broken\.Factory' failed: RuntimeError: Model class x\.Y"):
        seed("seed_broken.Factory", "5")
    assert rows() == before


@pytest.mark.django_db
async def test_called_inside_an_event_loop_it_says_how_to_call_it() -> None:
    with pytest.raises(CommandError, match=r"cannot run inside one.*await sync_to_async\(call_command\)"):
        seed("app.factories.UserFactory", "1")


# Subprocesses: manage.py seed as a user runs it -------------------------------------------------


def run_seed(target: ProjectDatabase, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "seed", *args],
        cwd=ROOT,
        env=target.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@transactional
def test_without_a_terminal_progress_is_plain_lines_and_the_summary_goes_to_stdout(
    project_database: ProjectDatabase,
) -> None:
    friends, users = project_database.count("app_friend"), project_database.count("app_user")

    done = run_seed(project_database, "app.factories.FriendFactory", "300", "--batch-size", "100")

    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    assert [line.split(" (")[0] for line in done.stderr.splitlines()] == [
        "seed: 100/300 app.Friend",
        "seed: 200/300 app.Friend",
        "seed: 300/300 app.Friend",
    ]
    assert re.search(r"app\.User\s+\+600\n\s+app\.Friend\s+\+300\n\s+total\s+\+900 rows, [\d,]+ rows/s", done.stdout)
    assert project_database.count("app_friend") == friends + 300
    assert project_database.count("app_user") == users + 600


@transactional
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_progress_is_a_tqdm_bar(project_database: ProjectDatabase) -> None:
    import pty

    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "manage.py", "seed", "app.factories.UserFactory", "300", "--batch-size", "100"],
        cwd=ROOT,
        env=project_database.env(),
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child has exited and its terminal output is drained
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    out, _ = child.communicate(timeout=120)

    assert child.returncode == 0, drawn
    text = drawn.decode()
    assert "\r" in text
    assert re.search(r"app\.User: 100%\|.*\| 300/300 \[", text), text
    assert "Seeded 300 app.User objects" in out


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "seed", "app.factories.UserFactory", "10"],
        cwd=ROOT,
        env=project_env("postgres://seeder:s3cret-pw@127.0.0.1:1/nowhere"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("CommandError: cannot connect to the postgresql database 'nowhere' on 127.0.0.1:1: ")
    assert "Check DATABASE_URL" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def seed_process(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "seed", "app.factories.UserFactory", "10"],
        cwd=ROOT,
        env=project_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_password_made_of_digits_masks_itself_not_the_host() -> None:
    done = seed_process("postgres://seeder:0@127.0.0.1:1/nowhere")

    assert done.returncode == 1
    assert "on 127.0.0.1:1: " in done.stderr and 'server at "127.0.0.1", port 1 failed' in done.stderr
    assert "***" not in done.stderr  # the password 0 stands alone nowhere in the message


@pytest.mark.parametrize("url", ["postgres://seeder:se/cret@127.0.0.1:1/x", "mysql://root:se#cret@127.0.0.1:1/x"])
def test_a_malformed_database_url_is_one_line_without_the_password(url: str) -> None:
    done = seed_process(url)

    assert done.returncode == 1
    assert done.stderr == (
        "manage.py: error: DATABASE_URL is malformed: percent-encode / @ # ? % and spaces in its user and "
        "password (%2F %40 %23 %3F %25 %20).\n"
    )
    assert "cret" not in done.stdout + done.stderr


# Python code that restores the default SIGINT handler (a test runner started in the background
# inherits SIGINT ignored), then runs manage.py.
WITH_SIGINT = "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); " + (
    "sys.argv = sys.argv[1:]; runpy.run_path('manage.py', run_name='__main__')"
)


@transactional
def test_ctrl_c_keeps_whole_committed_chunks_says_how_many_rows_and_exits_130(
    project_database: ProjectDatabase,
) -> None:
    batch = 500
    batch_args = ["--batch-size", str(batch)]
    friends_before, users_before = project_database.count("app_friend"), project_database.count("app_user")
    child = subprocess.Popen(
        [sys.executable, "-c", WITH_SIGINT, "manage.py", "seed", "app.factories.FriendFactory", "1000000", *batch_args],
        cwd=ROOT,
        env=project_database.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            project_database.count("app_friend") < friends_before + batch
        ):  # a chunk is committed: the next one is under way
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "no chunk was committed in 60 s"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = child.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()

    assert child.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    kept = re.fullmatch(
        r"Interrupted: kept ([\d,]+) rows in the .*, from whole committed chunks "
        r"\(app\.User \+([\d,]+), app\.Friend \+([\d,]+)\); no chunk is half written\. "
        r"1,000,000 app\.Friend objects were asked for\.",
        last,
    )
    assert kept, last
    total, users, friends = (int(group.replace(",", "")) for group in kept.groups())
    assert friends == project_database.count("app_friend") - friends_before
    assert users == project_database.count("app_user") - users_before == 2 * friends
    assert total == users + friends
    assert friends % batch == 0, "a chunk was half written"
    assert friends < 100_000, "Ctrl-C did not stop the run"
    assert took < 20, f"it took {took:.1f} s to stop"
    assert out == ""
