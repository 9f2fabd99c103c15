"""Bad input: each error names the factory, the field or the fix, and nothing is saved.

(The abstract factory, missing get_or_create field, unknown field, cyclic declaration and
sync-call cases are in test_errors.py.)
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import warnings
from pathlib import Path

import factory
import pytest

from app.factories import FriendFactory
from app.factory import AsyncFactory
from app.models import Friend, User
from tests.rows import empty
from tests.testapp.factories import PersonFactory
from tests.testapp.models import Person

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def notes(error: BaseException) -> str:
    return "\n".join(getattr(error, "__notes__", []))


async def test_wrong_value_type_for_a_foreign_key() -> None:
    with pytest.raises(ValueError, match=r'"Friend.user" must be a "User" instance') as raised:
        await FriendFactory.create(user="not a user")
    assert "FriendFactory" in notes(raised.value)
    assert await empty(User, Friend, Person)


async def test_wrong_value_type_for_a_number() -> None:
    with pytest.raises(ValueError, match="Field 'rank' expected a number but got 'high'") as raised:
        await PersonFactory.create(rank="high")
    assert "PersonFactory" in notes(raised.value)
    assert await empty(User, Friend, Person)


async def test_sub_factory_to_a_factory_path_that_does_not_exist() -> None:
    class Broken(AsyncFactory[Person]):
        class Meta:
            model = Person

        name = "x"
        company = factory.SubFactory("tests.testapp.factories.NoSuchFactory")

    with pytest.raises(AttributeError, match="NoSuchFactory") as raised:
        await Broken.create()
    assert "Broken" in notes(raised.value)
    assert "'company'" in notes(raised.value)
    assert await empty(User, Friend, Person)


def test_meta_model_path_that_does_not_exist() -> None:
    with pytest.raises(LookupError, match="doesn't have a 'NoSuchModel' model"):

        class Broken(AsyncFactory[Person]):
            class Meta:
                model = "testapp.NoSuchModel"


async def test_create_never_awaited_warns_with_the_factory_and_saves_nothing() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PersonFactory.create()  # forgotten await
        gc.collect()
    assert any("coroutine 'PersonFactory.create' was never awaited" in str(w.message) for w in caught)
    assert await empty(User, Friend, Person)


def run_main(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAME")}
    env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "url",
    [
        "nosuchdb://admin:s3cret-pw@db.example:5432/app",
        "postgres://admin:s3cret-pw@127.0.0.1:notaport/app",
        "postgres://admin:s3cret-pw@127.0.0.1:1/app",
    ],
    ids=["unknown-scheme", "bad-port", "unreachable"],
)
def test_main_with_a_bad_database_url_says_so_in_one_line(url: str) -> None:
    result = run_main(url)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("main.py: error:")
    assert "DATABASE_URL" in errors[0]
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
