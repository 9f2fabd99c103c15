"""The recipes' factories, as docs/recipes.md defines them, on what the page does not show.

tests/test_docs.py runs the page itself, with its asserts; these tests use its factories.
"""

from __future__ import annotations

import datetime
from types import ModuleType

import pytest
from django.db import models

from app.factory import FactoryValidationError
from tests.docs_harness import load_page, run_page
from tests.recipes import models as m

pytestmark = pytest.mark.django_db


@pytest.fixture
async def recipes() -> ModuleType:
    """The namespace of docs/recipes.md, run in this test's transaction."""
    return await run_page(load_page("docs/recipes.md"))


async def counts(*model_classes: type[models.Model]) -> list[int]:
    return [await model.objects.acount() for model in model_classes]


async def test_related_factory_uses_the_agent_it_follows(recipes: ModuleType) -> None:
    before = await counts(m.Agent, m.AgentLog)
    await recipes.LoggedAgentFactory.create()
    assert await counts(m.Agent, m.AgentLog) == [before[0] + 1, before[1] + 1]


async def test_a_failed_clean_saves_nothing_of_the_call(recipes: ModuleType) -> None:
    before = await counts(m.School, m.SchoolCourse)
    with pytest.raises(FactoryValidationError):
        await recipes.NaiveSchoolCourseFactory.create(start_date=datetime.date.today() + datetime.timedelta(days=3650))
    assert await counts(m.School, m.SchoolCourse) == before  # the School of the SubFactory too


async def test_a_built_parent_makes_no_rows(recipes: ModuleType) -> None:
    before = await counts(m.School, m.SchoolCourse, m.Student, m.Roster)
    course = await recipes.SchoolCourseWithRostersFactory.build(rosters__count=3)
    assert course.school.pk is None
    assert await counts(m.School, m.SchoolCourse, m.Student, m.Roster) == before
