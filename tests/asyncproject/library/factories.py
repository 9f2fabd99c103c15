"""The library's factories, made with the project's own copy of the async factory package."""

import factory
from myproject.factory import AsyncFactory, AuthUserFactory, OptionalSubFactory

from library.models import Author, Book, Review, Tag


class UserFactory(AuthUserFactory):
    pass


class AuthorFactory(AsyncFactory[Author]):
    name = factory.Faker("name")

    class Meta:
        model = Author


class TagFactory(AsyncFactory[Tag]):
    name = factory.Sequence(lambda n: f"tag-{n}")

    class Meta:
        model = Tag


class BookFactory(AsyncFactory[Book]):
    title = factory.Faker("sentence", nb_words=3)
    author = factory.SubFactory(AuthorFactory)
    editor = OptionalSubFactory(AuthorFactory)

    class Meta:
        model = Book
        skip_postgeneration_save = True

    @factory.post_generation
    def tags(self, create: bool, extracted: list[Tag] | None, **kwargs: object) -> None:
        if create and extracted:
            self.tags.add(*extracted)


class ReviewFactory(AsyncFactory[Review]):
    user = factory.SubFactory(UserFactory)
    book = factory.SubFactory(BookFactory)
    rating = factory.Faker("pyint", min_value=1, max_value=5)

    class Meta:
        model = Review


class BookWithReviewsFactory(BookFactory):
    """A book and two reviews (RelatedFactoryList), each by a new user."""

    reviews = factory.RelatedFactoryList(ReviewFactory, "book", size=2)

    class Meta:
        skip_postgeneration_save = True


class AuthorWithBookFactory(AuthorFactory):
    """An author and one book by them (RelatedFactory)."""

    book = factory.RelatedFactory(BookFactory, "author")

    class Meta:
        skip_postgeneration_save = True
