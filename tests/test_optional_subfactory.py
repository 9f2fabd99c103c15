"""OptionalSubFactory: a nullable foreign key gets an object only when the call asks for one."""

from __future__ import annotations

from typing import Any

import factory
import pytest

from app.factory import AsyncFactory, OptionalSubFactory, OptionalSubFactoryError
from tests.recipes.factories import ArticleFactory, AuthorFactory, StudentFactory
from tests.recipes.models import Article, Author, Roster

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kwargs", [{}, {"author": None}, {"author": False}], ids=["no-argument", "None", "False"])
async def test_no_object_unless_asked(kwargs: dict[str, Any]) -> None:
    article = await ArticleFactory.create(**kwargs)
    assert article.author is None
    assert (await Article.objects.aget(pk=article.pk)).author_id is None
    assert await Author.objects.acount() == 0


async def test_subfield_values_make_the_object_with_the_defaults() -> None:
    article = await ArticleFactory.create(title="Test Article", author__name="Baptiste")
    author = await Author.objects.aget()
    assert (article.author_id, author.name, author.email) == (author.pk, "Baptiste", "author@example.com")


async def test_true_makes_the_object_with_its_factory_defaults() -> None:
    article = await ArticleFactory.create(author=True)
    assert article.author is not None
    assert article.author.pk is not None
    assert article.author.name  # AuthorFactory's Faker name
    assert article.author.email == "author@example.com"
    assert await Author.objects.acount() == 1


async def test_true_with_subfield_values() -> None:
    article = await ArticleFactory.create(author=True, author__email="b@example.com")
    assert article.author is not None
    assert article.author.email == "b@example.com"


async def test_an_instance_is_used_as_it_is() -> None:
    author = await AuthorFactory.create(name="Given")
    article = await ArticleFactory.create(author=author)
    assert article.author == author
    assert await Author.objects.acount() == 1


async def test_a_declaration_is_evaluated() -> None:
    article = await ArticleFactory.create(author=factory.SubFactory(AuthorFactory, name="Declared"))
    assert article.author is not None
    assert article.author.name == "Declared"


async def test_build_builds_the_related_object() -> None:
    article = await ArticleFactory.build(author=True)
    named = await ArticleFactory.build(author__name="Baptiste")
    assert article.pk is None
    assert article.author is not None
    assert article.author.pk is None
    assert named.author is not None
    assert (named.author.pk, named.author.name) == (None, "Baptiste")
    assert await Author.objects.acount() == 0


async def test_a_factory_given_by_its_dotted_path() -> None:
    article = await ArticleFactory.create(editor__name="Ed")
    plain = await ArticleFactory.create()
    assert article.editor is not None
    assert article.editor.name == "Ed"
    assert plain.editor is None


async def test_each_object_of_a_batch_gets_its_own() -> None:
    articles = await ArticleFactory.create_batch(3, author=True)
    assert len({a.author_id for a in articles}) == 3
    assert await Author.objects.acount() == 3


@pytest.mark.parametrize("value", [None, False], ids=["None", "False"])
async def test_no_object_and_subfield_values_contradict(value: Any) -> None:
    with pytest.raises(OptionalSubFactoryError) as caught:
        await ArticleFactory.create(author=value, author__name="Baptiste")
    assert str(caught.value) == (
        f"ArticleFactory: author={value!r} asks for no object, so author__name cannot apply. "
        f"Fix: pass either author={value!r} or author__name, not both."
    )
    assert await Article.objects.acount() == 0


async def test_an_instance_and_subfield_values_contradict() -> None:
    author = await AuthorFactory.create()
    with pytest.raises(OptionalSubFactoryError, match="is the object to use, so author__name cannot apply"):
        await ArticleFactory.create(author=author, author__name="Other")
    assert await Article.objects.acount() == 0


class RosterWithOptionalStudentFactory(AsyncFactory[Roster]):
    student = OptionalSubFactory(StudentFactory)

    class Meta:
        model = Roster


async def test_a_non_nullable_field_is_refused_when_it_would_be_none() -> None:
    with pytest.raises(OptionalSubFactoryError) as caught:
        await RosterWithOptionalStudentFactory.build()
    assert str(caught.value) == (
        "RosterWithOptionalStudentFactory.student is an OptionalSubFactory, which is None unless the call "
        "asks for an object, but Roster.student is not nullable. Fix: declare it with factory.SubFactory, "
        "or make the field null=True."
    )
