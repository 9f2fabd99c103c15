"""factory_boy's common recipes and the advanced patterns, as async factories (docs/recipes.md)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.hashers import check_password

from app.factory import FactoryValidationError
from tests.recipes import factories as f
from tests.recipes import models as m

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


async def test_foreign_key_with_subfactory() -> None:
    agent = await f.AgentFactory.create()
    assert agent.first_name.startswith("Agent ")
    assert await m.Group.objects.filter(pk=agent.group_id).aexists()
    other = await f.AgentFactory.create(group__name="Ops")
    assert other.group.name == "Ops"
    assert other.group_id != agent.group_id


async def test_reverse_foreign_key_with_related_factory() -> None:
    agent = await f.LoggedAgentFactory.create()
    logs = [log async for log in agent.logs.all()]
    assert [log.action for log in logs] == [m.AgentLog.ACTION_CREATE]
    assert await m.Agent.objects.acount() == 1  # the RelatedFactory used this agent, made no other


async def test_profile_made_with_the_member_while_post_save_is_muted() -> None:
    member = await f.MemberFactory.create(profile__title="Lord")
    profile = await m.Profile.objects.aget(member=member)
    assert profile.title == "Lord"
    profile = await f.ProfileFactory.create()
    assert profile.title == "Dr"
    assert await m.Profile.objects.acount() == 2  # the signal handler made none
    # Outside the factories the handler is connected again.
    plain = await m.Member.objects.acreate(username="plain")
    assert (await m.Profile.objects.aget(member=plain)).title == ""


async def test_simple_many_to_many_with_post_generation() -> None:
    clubs = await f.ClubFactory.create_batch(3)
    player = await f.PlayerFactory.create(clubs=clubs)
    assert {c.pk async for c in player.clubs.all()} == {c.pk for c in clubs}
    alone = await f.PlayerFactory.create()
    assert await alone.clubs.acount() == 0
    built = await f.PlayerFactory.build(clubs=clubs)
    assert built.pk is None


async def test_many_to_many_through_model_with_related_factories() -> None:
    one = await f.MusicianWithBandFactory.create()
    assert [b.name async for b in one.bands.all()] == ["Admins"]
    two = await f.MusicianWith2BandsFactory.create()
    ranks = {ms.band.name: ms.rank async for ms in m.BandMembership.objects.filter(musician=two).select_related("band")}
    assert ranks == {"Band1": 1, "Band2": 2}


async def test_copying_fields_to_a_subfactory() -> None:
    company = await f.CompanyFactory.create()
    owner = await m.Citizen.objects.select_related("country").aget(pk=company.owner_id)
    assert owner.country_id == company.country_id
    assert owner.lang == owner.country.lang
    assert await m.Country.objects.acount() == 1  # `..country` reused the company's country


async def test_custom_manager_method_in_create() -> None:
    signup = await f.SignupFactory.create(username="MiXeD")
    assert signup.username == "mixed"
    assert check_password("my_password", signup.password)
    assert (await m.Signup.objects.aget(pk=signup.pk)).username == "mixed"


async def test_lazy_attribute_keeps_dependent_dates_valid() -> None:
    far = TODAY + datetime.timedelta(days=3650)
    courses = await f.SchoolCourseFactory.create_batch(20, start_date=far)
    assert all(c.end_date > c.start_date == far for c in courses)
    default = await f.SchoolCourseFactory.create()
    assert default.start_date < TODAY < default.end_date


async def test_dates_set_one_by_one_break_the_check_constraint() -> None:
    far = TODAY + datetime.timedelta(days=3650)
    with pytest.raises(FactoryValidationError) as caught:
        await f.NaiveSchoolCourseFactory.create(start_date=far)
    assert str(caught.value) == (
        "NaiveSchoolCourseFactory could not create a valid SchoolCourse: "
        "Constraint “school_course_start_before_end” is violated."
    )
    assert await m.SchoolCourse.objects.acount() == 0


@pytest.mark.parametrize("roster_factory", [f.RosterFactory, f.ParentRosterFactory], ids=["SelfAttribute", "parent"])
async def test_roster_course_is_in_the_students_school(roster_factory: type[f.RosterFactory]) -> None:
    roster = await roster_factory.create()
    course = await m.SchoolCourse.objects.aget(pk=roster.school_course_id)
    student = await m.Student.objects.aget(pk=roster.student_id)
    assert course.school_id == student.school_id
    assert (roster.start_date, roster.end_date) == (course.start_date, course.end_date)
    assert await m.School.objects.acount() == 1
    built = await roster_factory.build()
    assert built.school_course.school is built.student.school
    assert built.pk is None


async def test_params_are_inputs_of_the_factory_only() -> None:
    roster = await f.RosterFactory.build()
    first = await f.FutureRosterFactory.build(start_after=roster.start_date)
    second = await f.FutureRosterFactory.build(start_after=first.start_date)
    assert roster.start_date < first.start_date < second.start_date
    assert first.start_date - roster.start_date >= datetime.timedelta(days=2)
    assert not hasattr(first, "start_after")
    unanchored = await f.FutureRosterFactory.create()
    assert unanchored.start_date > TODAY


async def test_parent_with_children_counts_and_lists() -> None:
    course = await f.SchoolCourseWithRostersFactory.create()
    assert await course.rosters.acount() == 5
    ten = await f.SchoolCourseWithRostersFactory.create(rosters__count=10)
    assert await ten.rosters.acount() == 10
    schools = {r.student.school_id async for r in ten.rosters.select_related("student")}
    assert schools == {ten.school_id}
    roster = await f.RosterFactory.create()
    given = await f.SchoolCourseWithRostersFactory.create(rosters=[roster])
    assert [r.pk async for r in given.rosters.all()] == [roster.pk]


async def test_parent_with_children_builds_no_children() -> None:
    course = await f.SchoolCourseWithRostersFactory.build()
    assert course.pk is None
    assert await m.Roster.objects.acount() == 0
    assert await m.SchoolCourse.objects.acount() == 0
