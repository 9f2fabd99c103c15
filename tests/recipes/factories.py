"""Async factories for tests.recipes: factory_boy's common recipes and the advanced patterns."""

from __future__ import annotations

import datetime
from typing import Any

import factory
import factory.fuzzy
from django.db.models.signals import post_save
from faker import Faker

from app.factory import AsyncFactory, CleanModelFactory, OptionalSubFactory, mute_signals
from tests.recipes import models

fake = Faker()

# CleanModelFactory ---------------------------------------------------------------------------


class ItemFactory(CleanModelFactory[models.Item]):
    name = factory.fuzzy.FuzzyText(length=5)

    class Meta:
        model = models.Item


class SlotFactory(CleanModelFactory[models.Slot]):
    shelf = "A"
    position = factory.Sequence(lambda n: n % 100)

    class Meta:
        model = models.Slot


# OptionalSubFactory --------------------------------------------------------------------------


class AuthorFactory(AsyncFactory[models.Author]):
    name = factory.Faker("name")

    class Meta:
        model = models.Author


class ArticleFactory(AsyncFactory[models.Article]):
    title = factory.Sequence(lambda n: f"Article {n}")
    author = OptionalSubFactory(AuthorFactory, email="author@example.com")
    editor = OptionalSubFactory("tests.recipes.factories.AuthorFactory")

    class Meta:
        model = models.Article


# Recipe: ForeignKey ---------------------------------------------------------------------------


class GroupFactory(AsyncFactory[models.Group]):
    name = factory.Sequence(lambda n: f"Group #{n}")

    class Meta:
        model = models.Group


class AgentFactory(AsyncFactory[models.Agent]):
    first_name = factory.Sequence(lambda n: f"Agent {n:03d}")
    group = factory.SubFactory(GroupFactory)

    class Meta:
        model = models.Agent


# Recipe: reverse ForeignKey -------------------------------------------------------------------


class AgentLogFactory(AsyncFactory[models.AgentLog]):
    agent = factory.SubFactory(AgentFactory)
    action = "update"

    class Meta:
        model = models.AgentLog


class LoggedAgentFactory(AgentFactory):
    log = factory.RelatedFactory(AgentLogFactory, "agent", action=models.AgentLog.ACTION_CREATE)

    class Meta:
        skip_postgeneration_save = True


# Recipe: the Profile made with the Member, post_save muted around both factories ---------------


@mute_signals(post_save)
class ProfileFactory(AsyncFactory[models.Profile]):
    title = "Dr"
    # profile=None turns off MemberFactory's RelatedFactory: this factory makes the profile.
    member = factory.SubFactory("tests.recipes.factories.MemberFactory", profile=None)

    class Meta:
        model = models.Profile


@mute_signals(post_save)
class MemberFactory(AsyncFactory[models.Member]):
    username = factory.Sequence(lambda n: f"member_{n}")
    profile = factory.RelatedFactory(ProfileFactory, "member")

    class Meta:
        model = models.Member
        skip_postgeneration_save = True


# Recipe: simple ManyToMany --------------------------------------------------------------------


class ClubFactory(AsyncFactory[models.Club]):
    name = factory.Sequence(lambda n: f"Club #{n}")

    class Meta:
        model = models.Club


class PlayerFactory(AsyncFactory[models.Player]):
    name = "John Doe"

    class Meta:
        model = models.Player
        skip_postgeneration_save = True

    @factory.post_generation
    def clubs(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        # Runs in the ORM thread: the sync ORM is the right tool here.
        if create and extracted:
            self.clubs.add(*extracted)


# Recipe: ManyToMany with a through model -------------------------------------------------------


class MusicianFactory(AsyncFactory[models.Musician]):
    name = "John Doe"

    class Meta:
        model = models.Musician


class BandFactory(AsyncFactory[models.Band]):
    name = "Admins"

    class Meta:
        model = models.Band


class BandMembershipFactory(AsyncFactory[models.BandMembership]):
    musician = factory.SubFactory(MusicianFactory)
    band = factory.SubFactory(BandFactory)
    rank = 1

    class Meta:
        model = models.BandMembership


class MusicianWithBandFactory(MusicianFactory):
    membership = factory.RelatedFactory(BandMembershipFactory, "musician")

    class Meta:
        skip_postgeneration_save = True


class MusicianWith2BandsFactory(MusicianFactory):
    membership1 = factory.RelatedFactory(BandMembershipFactory, "musician", band__name="Band1")
    membership2 = factory.RelatedFactory(BandMembershipFactory, "musician", band__name="Band2", rank=2)

    class Meta:
        skip_postgeneration_save = True


# Recipe: copying fields to a SubFactory --------------------------------------------------------


class CountryFactory(AsyncFactory[models.Country]):
    name = factory.Iterator(["France", "Italy", "Spain"])
    lang = factory.Iterator(["fr", "it", "es"])

    class Meta:
        model = models.Country


class CitizenFactory(AsyncFactory[models.Citizen]):
    name = "John"
    lang = factory.SelfAttribute("country.lang")
    country = factory.SubFactory(CountryFactory)

    class Meta:
        model = models.Citizen


class CompanyFactory(AsyncFactory[models.Company]):
    name = "ACME, Inc."
    country = factory.SubFactory(CountryFactory)
    owner = factory.SubFactory(CitizenFactory, country=factory.SelfAttribute("..country"))

    class Meta:
        model = models.Company


# Recipe: custom manager method ------------------------------------------------------------------


class SignupFactory(AsyncFactory[models.Signup]):
    username = factory.Sequence(lambda n: f"User{n}")
    email = "my_name@example.com"
    password = "my_password"

    class Meta:
        model = models.Signup

    @classmethod
    async def _create(cls, model_class: type[models.Signup], *args: Any, **kwargs: Any) -> models.Signup:
        manager = cls._get_manager(model_class)
        return await manager.acreate_user(*args, **kwargs)  # instead of manager.create(...)


# Advanced patterns -----------------------------------------------------------------------------


class SchoolFactory(AsyncFactory[models.School]):
    name = factory.Faker("company")

    class Meta:
        model = models.School


class SchoolCourseFactory(CleanModelFactory[models.SchoolCourse]):
    name = factory.Faker("catch_phrase")
    school = factory.SubFactory(SchoolFactory)
    start_date = factory.Faker("past_date")
    # LazyAttribute reads the object being built: the end always follows the start, even a given one.
    end_date = factory.LazyAttribute(lambda course: course.start_date + datetime.timedelta(days=365))

    class Meta:
        model = models.SchoolCourse


class NaiveSchoolCourseFactory(SchoolCourseFactory):
    """The definition the article warns about: each date on its own."""

    end_date = factory.Faker("future_date")


class StudentFactory(AsyncFactory[models.Student]):
    email = factory.Faker("email")
    school = factory.SubFactory(SchoolFactory)

    class Meta:
        model = models.Student


class RosterFactory(AsyncFactory[models.Roster]):
    student = factory.SubFactory(StudentFactory)
    # `..` is the RosterFactory being built: the course is in the student's school.
    school_course = factory.SubFactory(SchoolCourseFactory, school=factory.SelfAttribute("..student.school"))
    start_date = factory.SelfAttribute("school_course.start_date")
    end_date = factory.SelfAttribute("school_course.end_date")

    class Meta:
        model = models.Roster


class ParentRosterFactory(RosterFactory):
    """The same rules spelled with factory_parent and LazyAttribute."""

    school_course = factory.SubFactory(
        SchoolCourseFactory, school=factory.LazyAttribute(lambda course: course.factory_parent.student.school)
    )
    start_date = factory.LazyAttribute(lambda roster: roster.school_course.start_date)
    end_date = factory.LazyAttribute(lambda roster: roster.school_course.end_date)


def future_roster_start(roster: Any) -> datetime.date:
    if not roster.start_after:
        return fake.future_date()
    return roster.start_after + datetime.timedelta(days=fake.pyint(2, 100))


class FutureRosterFactory(RosterFactory):
    class Params:
        start_after = None  # an input of the factory, never passed to Roster

    start_date = factory.LazyAttribute(future_roster_start)
    end_date = factory.LazyAttribute(lambda roster: roster.start_date + datetime.timedelta(days=90))


class SchoolCourseWithRostersFactory(SchoolCourseFactory):
    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    async def rosters(course, create: bool, extracted: Any, **kwargs: Any) -> list[models.Roster] | None:  # noqa: N805
        # async def, because it awaits another AsyncFactory.
        if not create:
            return None
        if extracted:
            await course.rosters.aset(extracted)
            return list(extracted)
        count = kwargs.pop("count", 5)
        return await RosterFactory.create_batch(count, school_course=course, student__school=course.school, **kwargs)
