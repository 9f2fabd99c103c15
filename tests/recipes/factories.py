"""Async factories for tests.recipes that other tests import.

The recipes' own factories are defined, and run, in docs/recipes.md (see tests/test_docs.py).
"""

from __future__ import annotations

import datetime

import factory
import factory.fuzzy

from app.factory import AsyncFactory, CleanModelFactory, OptionalSubFactory
from tests.recipes import models

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


# Schools, courses, students (test_validation, test_optional_subfactory) ------------------------


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


class StudentFactory(AsyncFactory[models.Student]):
    email = factory.Faker("email")
    school = factory.SubFactory(SchoolFactory)

    class Meta:
        model = models.Student
