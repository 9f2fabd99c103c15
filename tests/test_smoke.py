import pytest

from app.factories import FriendFactory, ProfileFactory, UserFactory
from app.models import Friend, Profile, User

pytestmark = pytest.mark.django_db


async def test_seed_scenario() -> None:
    friends = await FriendFactory.create_batch(10)
    assert await Friend.objects.acount() == 10
    await ProfileFactory.create(user=friends[0].user)
    assert await Profile.objects.acount() == 1
    built_profile = await ProfileFactory.build()
    assert built_profile.pk is None
    assert await Profile.objects.acount() == 1


async def test_rows_from_previous_test_are_gone() -> None:
    assert await User.objects.acount() == 0
    user = await UserFactory.create()
    assert user.pk is not None
