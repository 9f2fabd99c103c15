"""AuthUserFactory: valid, unique users of AUTH_USER_MODEL, passwords only ever stored hashed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import factory
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import aauthenticate, get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import override_settings

from app.factory import AuthUserFactory, FactoryValidationError, UniqueUsernameError
from app.factory.auth import USERNAME_TRIES
from tests.recipes import hashers
from tests.recipes.models import EmailUser

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


class AdaFactory(AuthUserFactory):
    """Defined at import time, as project factories are; turns the staff trait on."""

    first_name = "Ada"
    staff = True


async def test_create_makes_a_valid_saved_user() -> None:
    user = await AuthUserFactory.create()
    assert isinstance(user, User)
    saved = await User.objects.aget(pk=user.pk)
    await sync_to_async(saved.full_clean)()
    assert saved.username
    assert "@" in saved.email
    assert saved.first_name
    assert saved.last_name
    assert (saved.is_staff, saved.is_superuser, saved.is_active) == (False, False, True)


async def test_explicit_values_are_kept() -> None:
    user = await AuthUserFactory.create(username="rene", first_name="René", email="rene@example.org")
    assert (user.username, user.first_name, user.email) == ("rene", "René", "rene@example.org")


async def test_usernames_of_a_batch_are_unique() -> None:
    users = await AuthUserFactory.create_batch(30)
    assert len({u.username for u in users}) == 30


@pytest.fixture
def user_names(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], list[str]]:
    """Make Faker's user_name() return the given values in turn (the last one forever); log the calls."""

    def use(values: list[str]) -> list[str]:
        calls: list[str] = []
        stream: Iterator[str] = iter(values)

        def user_name() -> str:
            calls.append(next(stream, values[-1]))
            return calls[-1]

        monkeypatch.setattr(factory.Faker._get_faker(), "user_name", user_name)
        return calls

    return use


async def test_usernames_taken_tried_or_invalid_are_skipped(user_names: Callable[[list[str]], list[str]]) -> None:
    token = uuid.uuid4().hex[:8]
    await User.objects.acreate(username=f"taken{token}")
    calls = user_names([f"taken{token}", f"not valid {token}", f"taken{token}", f"free{token}"])
    user = await AuthUserFactory.create()
    assert user.username == f"free{token}"
    assert len(calls) == 4


async def test_unused_username_not_found_says_how_many_were_tried(
    user_names: Callable[[list[str]], list[str]],
) -> None:
    token = uuid.uuid4().hex[:8]
    calls = user_names([f"always{token}"])
    await AuthUserFactory.create()
    calls.clear()
    with pytest.raises(UniqueUsernameError) as caught:
        await AuthUserFactory.create()
    assert str(caught.value) == (
        f"AuthUserFactory could not find an unused username for auth.User in {USERNAME_TRIES} tries (each "
        "Faker value was already tried in this process, already in the database, or invalid for the field). "
        "Fix: pass username=... yourself."
    )
    assert len(calls) == USERNAME_TRIES == 200
    assert await User.objects.acount() == 1


async def test_given_password_logs_in() -> None:
    user = await AuthUserFactory.create(password="s3cret")
    assert user.password != "s3cret"
    assert identify_hasher(user.password).algorithm == "md5"
    assert await aauthenticate(username=user.username, password="s3cret") == user
    assert await aauthenticate(username=user.username, password="wrong") is None


DEFAULT = object()


async def test_password_none_is_unusable() -> None:
    user = await AuthUserFactory.create(password=None)
    assert not user.has_usable_password()
    assert not (await User.objects.aget(pk=user.pk)).has_usable_password()


async def test_default_password_is_usable_hashed_and_unknown() -> None:
    first = await AuthUserFactory.create()
    assert first.has_usable_password()
    assert identify_hasher(first.password).algorithm == "md5"
    for guess in ("", "password", first.username):
        assert not first.check_password(guess)


@pytest.mark.parametrize("password", [DEFAULT, "s3cret"], ids=["default", "given"])
async def test_each_password_is_hashed_once_per_process_and_hasher(password: object) -> None:
    kwargs = {} if password is DEFAULT else {"password": password}
    hashers.ENCODED_ON_EVENT_LOOP.clear()
    with override_settings(PASSWORD_HASHERS=["tests.recipes.hashers.LoopRecordingHasher"]):
        users = await AuthUserFactory.create_batch(5, **kwargs)
        users += await AuthUserFactory.create_batch(5, **kwargs)
        assert len(hashers.ENCODED_ON_EVENT_LOOP) <= 1  # once per process: 0 if an earlier test hashed it
        if password is not DEFAULT:
            assert await aauthenticate(username=users[-1].username, password=password) == users[-1]
    assert len({u.password for u in users}) == 1


async def test_the_hash_follows_the_configured_hasher() -> None:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        user = await AuthUserFactory.create(password="pw")
        assert identify_hasher(user.password).algorithm == "pbkdf2_sha256"
        assert await aauthenticate(username=user.username, password="pw") == user
    user = await AuthUserFactory.create(password="pw")
    assert identify_hasher(user.password).algorithm == "md5"


async def test_passwords_are_hashed_off_the_event_loop() -> None:
    hashers.ENCODED_ON_EVENT_LOOP.clear()
    with override_settings(PASSWORD_HASHERS=["tests.recipes.hashers.LoopRecordingHasher"]):
        user = await AuthUserFactory.create(password=f"pw {uuid.uuid4()}")  # not hashed before
        await AuthUserFactory.build(password=f"pw {uuid.uuid4()}")
        assert identify_hasher(user.password).algorithm == "md5_loop_recording"
    assert hashers.ENCODED_ON_EVENT_LOOP == [False, False]


@pytest.mark.parametrize(
    ("traits", "expected"),
    [({}, (False, False)), ({"staff": True}, (True, False)), ({"superuser": True}, (True, True))],
    ids=["plain", "staff", "superuser"],
)
async def test_traits(traits: dict[str, bool], expected: tuple[bool, bool]) -> None:
    user = await AuthUserFactory.create(**traits)
    saved = await User.objects.aget(pk=user.pk)
    assert (saved.is_staff, saved.is_superuser) == expected


async def test_invalid_username_is_refused_before_saving() -> None:
    with pytest.raises(FactoryValidationError) as caught:
        await AuthUserFactory.create(username="user name")
    assert str(caught.value) == (
        'AuthUserFactory could not create a valid User: username="user name": Enter a valid username. '
        "This value may contain only letters, numbers, and @/./+/-/_ characters."
    )
    assert list(caught.value.error_dict) == ["username"]
    with pytest.raises(ValidationError, match="Enter a valid username"):
        await AuthUserFactory(username="user name")  # the factory_djoy spelling, awaited
    assert await User.objects.acount() == 0


async def test_duplicate_username_is_refused() -> None:
    await AuthUserFactory.create(username="dup")
    with pytest.raises(
        FactoryValidationError, match=re.escape('username="dup": A user with that username already exists.')
    ):
        await AuthUserFactory.create(username="dup")
    assert await User.objects.acount() == 1


async def test_build_skips_validation_and_saves_nothing() -> None:
    user = await AuthUserFactory.build(username="user name")
    assert user.pk is None
    assert user.username == "user name"
    assert user.has_usable_password()
    assert await User.objects.acount() == 0


async def test_a_subclass_defined_at_import_time() -> None:
    user = await AdaFactory.create()
    assert isinstance(user, User)
    assert (user.first_name, user.is_staff, user.is_superuser) == ("Ada", True, False)


async def test_model_is_looked_up_at_each_use() -> None:
    assert repr(AuthUserFactory._meta.model) == "get_user_model()"
    with override_settings(AUTH_USER_MODEL="recipes.EmailUser"):
        assert AuthUserFactory._meta.get_model_class() is EmailUser
    assert AuthUserFactory._meta.get_model_class() is User is get_user_model()


@override_settings(AUTH_USER_MODEL="recipes.EmailUser")
async def test_custom_user_model_with_email_as_username_field() -> None:
    users = await AuthUserFactory.create_batch(3, password="pw")
    assert all(isinstance(u, EmailUser) for u in users)
    assert len({u.email for u in users}) == 3
    assert not hasattr(users[0], "username")
    assert not hasattr(users[0], "first_name")
    assert await aauthenticate(username=users[0].email, password="pw") == users[0]
    superuser = await AuthUserFactory.create(superuser=True)
    assert (superuser.is_staff, superuser.is_superuser) == (True, True)
    assert await EmailUser.objects.acount() == 4


@override_settings(AUTH_USER_MODEL="recipes.EmailUser")
async def test_custom_user_model_is_validated() -> None:
    with pytest.raises(FactoryValidationError) as caught:
        await AuthUserFactory.create(email="not an email")
    assert str(caught.value) == (
        'AuthUserFactory could not create a valid EmailUser: email="not an email": Enter a valid email address.'
    )
    assert await EmailUser.objects.acount() == 0


@pytest.mark.django_db(databases=[])
def test_package_imports_and_defines_factories_without_auth() -> None:
    script = textwrap.dedent(
        """
        import asyncio

        from app.factory import AuthUserFactory

        class StaffFactory(AuthUserFactory):  # defined before settings exist: nothing is looked up
            is_staff = True

        from django.conf import settings

        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        )
        import django

        django.setup()
        from django.core.exceptions import ImproperlyConfigured

        async def main():
            await StaffFactory.build()

        try:
            asyncio.run(main())
        except ImproperlyConfigured as exc:
            print(exc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    assert result.stderr == ""
    assert result.stdout.strip() == (
        "StaffFactory makes users of settings.AUTH_USER_MODEL, but AUTH_USER_MODEL refers to model 'auth.User' "
        "that has not been installed. Fix: add that model's app to INSTALLED_APPS ('django.contrib.auth' for "
        "'auth.User') or set AUTH_USER_MODEL."
    )


async def test_bulk_create_batch() -> None:
    users = await AuthUserFactory.bulk_create_batch(5, staff=True)
    assert len({u.username for u in users}) == 5
    assert await User.objects.filter(is_staff=True).acount() == 5
