"""Static type checks of the public API: checked by mypy (tests/test_typing.py), never run."""

from typing import assert_type

from django.contrib.auth.models import User as AuthUser
from factory.base import StubObject

from app.factories import FriendFactory, UserFactory
from app.factory import AuthUserFactory, CleanModelFactory, OptionalSubFactory, mute_signals
from app.models import Friend, Profile, User


class CleanUserFactory(CleanModelFactory[User]):
    class Meta:
        model = User


class ProfileWithOptionalUserFactory(CleanModelFactory[Profile]):
    user = OptionalSubFactory(UserFactory)

    class Meta:
        model = Profile


async def check_factories() -> None:
    assert_type(await UserFactory.create(), User)
    assert_type(await UserFactory.build(name="x"), User)
    assert_type(await UserFactory(), User)
    assert_type(await UserFactory.create_batch(2), list[User])
    assert_type(await UserFactory.build_batch(2), list[User])
    assert_type(await UserFactory.bulk_create_batch(2), list[User])
    assert_type(await UserFactory.simple_generate(True), User)
    assert_type(await UserFactory.simple_generate_batch(False, 3), list[User])
    assert_type(await UserFactory.stub(), StubObject)
    assert_type(await FriendFactory.create(), Friend)
    assert_type((await FriendFactory.create()).user, User)
    assert_type(await CleanUserFactory.create(), User)
    assert_type(await CleanUserFactory.create_batch(2), list[User])
    assert_type(await ProfileWithOptionalUserFactory.build(user=True), Profile)
    assert_type(await AuthUserFactory.create(password="x"), AuthUser)
    assert_type(await AuthUserFactory.create_batch(2, staff=True), list[AuthUser])


async def check_mute_signals() -> None:
    from django.db.models.signals import post_save

    @mute_signals(post_save)
    async def make() -> User:
        return await UserFactory.create()

    assert_type(await make(), User)
    async with mute_signals(post_save) as muted:
        assert_type(muted, mute_signals)
