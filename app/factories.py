"""The demo factories."""

import factory

from app.factory import AsyncFactory
from app.models import Friend, Profile, User


class UserFactory(AsyncFactory[User]):
    name = factory.Faker("name")

    class Meta:
        model = User


class ProfileFactory(AsyncFactory[Profile]):
    user = factory.SubFactory(UserFactory)

    class Meta:
        model = Profile


class FriendFactory(AsyncFactory[Friend]):
    user = factory.SubFactory(UserFactory)
    friend = factory.SubFactory(UserFactory)

    class Meta:
        model = Friend
