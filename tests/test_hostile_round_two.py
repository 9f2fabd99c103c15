"""What a second hostile run broke (issue 18): each case fails without its fix, on every backend."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import factory
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection
from django.db.models import Model
from django.utils import timezone
from factory.django import DjangoModelFactory

from app.factories import FriendFactory, UserFactory
from app.factory import AsyncFactory
from app.factory.errors import UnknownDatabaseError
from app.factory.transactions import makes_one_row
from app.models import Friend, User
from tests.bulkapp.models import Author, Book, Comment
from tests.rows import row_counts
from tests.testapp.models import Account, Attachment, AuditLog, Company, Invoice, IssuedNumber, Person

APPS = ["app", "tests.testapp", "tests.bulkapp", "django.contrib.contenttypes"]
# Transactional: the one-row create() shortcut and cancellation only exist outside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True, available_apps=APPS)


class BoomError(Exception):
    pass


def sizes(method: str) -> tuple[int, ...]:
    """The arguments before the keywords: none for create(), a size of 2 for the batches."""
    return () if method == "create" else (2,)


# --- 1. the one-row create() shortcut and code of the user's that writes --------------------------


def audit_sync() -> str:
    AuditLog.objects.create(entry="written by a LazyFunction")
    return "note"


async def audit_async() -> str:
    await AuditLog.objects.acreate(entry="written by an async LazyFunction")
    return "note"


def audit_sequence(n: int) -> str:
    AuditLog.objects.create(entry=f"written by a Sequence {n}")
    return f"note {n}"


WRITERS = {
    "sync LazyFunction": factory.LazyFunction(audit_sync),
    "async LazyFunction": factory.LazyFunction(audit_async),
    "Sequence": factory.Sequence(audit_sequence),
    "LazyAttribute": factory.LazyAttribute(lambda o: audit_sync()),
}


@pytest.mark.parametrize("writer", list(WRITERS))
async def test_a_failing_create_takes_back_the_rows_its_declarations_wrote(writer: str) -> None:
    class AccountFactory(AsyncFactory[Account]):
        class Meta:
            model = Account

        username = "taken"
        note = WRITERS[writer]

    await Account.objects.acreate(username="taken")
    with pytest.raises(IntegrityError):
        await AccountFactory.create()
    assert await row_counts(Account, AuditLog) == {"testapp.Account": 1, "testapp.AuditLog": 0}


class InvoiceFactory(AsyncFactory[Invoice]):
    class Meta:
        model = Invoice

    code = "INV-1"


async def test_a_failing_create_takes_back_the_rows_a_field_default_wrote() -> None:
    await InvoiceFactory.create()
    assert await row_counts(Invoice, IssuedNumber) == {"testapp.Invoice": 1, "testapp.IssuedNumber": 1}
    with pytest.raises(IntegrityError):
        await InvoiceFactory.create()  # the same code: the INSERT fails after the default wrote its row
    assert await row_counts(Invoice, IssuedNumber) == {"testapp.Invoice": 1, "testapp.IssuedNumber": 1}


def test_the_shortcut_is_kept_where_only_library_code_runs() -> None:
    class StampFactory(AsyncFactory[Person]):
        class Meta:
            model = Person

        name = factory.Faker("name")
        email = factory.LazyFunction(timezone.now)
        country = factory.fuzzy.FuzzyChoice(["FR", "DE"])
        rank = 3

    assert makes_one_row(UserFactory, {})
    assert makes_one_row(StampFactory, {"name": "x"})
    assert not makes_one_row(StampFactory, {"name": factory.LazyFunction(audit_sync)})
    # A default of the user's runs only when the field gets no value.
    assert not makes_one_row(InvoiceFactory, {})
    assert makes_one_row(InvoiceFactory, {"number": 7})


# --- 2. save() and _create patched after the first call -----------------------------------------


class CompanyFactory(AsyncFactory[Company]):
    class Meta:
        model = Company

    name = "Acme"


def auditing_save(self: Model, *args: Any, **kwargs: Any) -> None:
    AuditLog.objects.create(entry=f"saving {self}")
    Model.save(self, *args, **kwargs)


async def test_a_save_patched_after_the_first_create_is_all_or_nothing() -> None:
    await CompanyFactory.create()
    with mock.patch.object(Company, "save", auditing_save), pytest.raises(IntegrityError):
        await CompanyFactory.create()  # a second "Acme": save() wrote its row, then the INSERT failed
    assert await row_counts(Company, AuditLog) == {"testapp.Company": 1, "testapp.AuditLog": 0}


async def test_bulk_create_batch_calls_a_save_patched_after_the_first_call() -> None:
    await CompanyFactory.bulk_create_batch(1, name="first")
    with mock.patch.object(Company, "save", auditing_save):
        await CompanyFactory.bulk_create_batch(2, name=factory.Sequence(lambda n: f"patched {n}"))
    assert await row_counts(Company, AuditLog) == {"testapp.Company": 3, "testapp.AuditLog": 2}


async def test_a_create_hook_patched_after_the_first_create_is_all_or_nothing() -> None:
    await CompanyFactory.create(name="first")

    @classmethod  # type: ignore[misc]
    def auditing_create(cls: Any, model_class: type[Company], **kwargs: Any) -> Company:
        AuditLog.objects.create(entry="by _create")
        return model_class.objects.create(**kwargs)

    with mock.patch.object(CompanyFactory, "_create", auditing_create):
        with pytest.raises(IntegrityError):
            await CompanyFactory.create(name="first")
        assert await row_counts(Company, AuditLog) == {"testapp.Company": 1, "testapp.AuditLog": 0}
        await CompanyFactory.bulk_create_batch(1, name="second")  # made by the patched _create
    assert await row_counts(Company, AuditLog) == {"testapp.Company": 2, "testapp.AuditLog": 1}


# --- 3. hooks replaced after the first call -----------------------------------------------------


class PersonFactory(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"person {n}")
    email = factory.Faker("email")


class SyncPersonFactory(DjangoModelFactory[Person]):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"person {n}")
    email = factory.Faker("email")


def shout(cls: Any, **kwargs: Any) -> dict[str, Any]:
    return {**kwargs, "name": kwargs["name"].upper()}


def after(cls: Any, instance: Person, create: bool, results: dict[str, Any] | None = None) -> None:
    instance.country = "hooked"


class FixedFaker:
    def format(self, provider: str, **extra: Any) -> str:
        return f"fixed {provider}"


@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch", "build_batch"])
async def test_hooks_replaced_after_the_first_call_apply_as_in_factory_boy(method: str) -> None:
    await getattr(PersonFactory, method)(2)
    replaced = {
        "_adjust_kwargs": classmethod(shout),
        "_after_postgeneration": classmethod(after),
    }
    with (
        mock.patch.multiple(PersonFactory, **replaced),
        mock.patch.multiple(SyncPersonFactory, **replaced),
        mock.patch.object(factory.Faker, "_get_faker", classmethod(lambda cls, locale=None: FixedFaker())),
    ):
        ours = await getattr(PersonFactory, method)(2)
        theirs = await sync_to_async(SyncPersonFactory.build_batch)(2)
    for made in (ours, theirs):
        assert [(p.name[:7], p.email, p.country) for p in made] == [("PERSON ", "fixed email", "hooked")] * 2


# --- 4. bulk_create_batch: declarations that read a parent's primary key -------------------------


class AuthorFactory(AsyncFactory[Author]):
    class Meta:
        model = Author

    name = factory.Sequence(lambda n: f"author {n}")


class BookFactory(AsyncFactory[Book]):
    class Meta:
        model = Book

    author = factory.SubFactory(AuthorFactory)
    title = factory.LazyAttribute(lambda o: f"by author #{o.author.pk}")
    isbn = factory.Sequence(lambda n: f"isbn {n}")


class CommentFactory(AsyncFactory[Comment]):
    """factory_boy's GenericForeignKey recipe."""

    class Meta:
        model = Comment
        exclude = ("content_object",)

    content_object = factory.SubFactory(AuthorFactory)
    object_id = factory.SelfAttribute("content_object.id")
    content_type = factory.LazyAttribute(lambda o: ContentType.objects.get_for_model(o.content_object))
    text = "a comment"


class RankedAuthorFactory(AuthorFactory):
    """A LazyFunction that queries: it sees every object made before it, as with create_batch."""

    rank = factory.LazyFunction(lambda: Author.objects.count())


class AdjustedBookFactory(BookFactory):
    title = "untitled"

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        return {**kwargs, "title": f"adjusted for #{kwargs['author'].pk}"}


@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_declarations_and_hooks_read_the_primary_keys_of_parents_made_for_them(method: str) -> None:
    books = await getattr(BookFactory, method)(3)
    assert [b.title for b in books] == [f"by author #{b.author.pk}" for b in books]
    assert None not in {b.author.pk for b in books}

    comments = await getattr(CommentFactory, method)(2)
    stored = [(c.object_id, c.content_type_id) async for c in Comment.objects.order_by("pk")]
    author_type = await sync_to_async(ContentType.objects.get_for_model)(Author)
    assert stored == [(c.object_id, author_type.pk) for c in comments]
    assert await Author.objects.filter(pk__in=[c.object_id for c in comments]).acount() == 2

    adjusted = await getattr(AdjustedBookFactory, method)(2)
    assert [b.title for b in adjusted] == [f"adjusted for #{b.author.pk}" for b in adjusted]


@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_a_query_in_a_declaration_sees_the_objects_made_before_it(method: str) -> None:
    authors = await getattr(RankedAuthorFactory, method)(3)
    assert [a.rank for a in authors] == [0, 1, 2]


# --- 5. files of a call that rolls back -----------------------------------------------------------


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


class AttachmentFactory(AsyncFactory[Attachment]):
    class Meta:
        model = Attachment
        skip_postgeneration_save = True

    label = factory.Sequence(lambda n: f"label {n}")
    file = factory.django.FileField(filename="upload.txt", data=b"uploaded")

    @factory.post_generation
    def point_at(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            self.file = extracted  # an existing file, by name
            raise BoomError("after pointing the object at another file")


@pytest.mark.parametrize("method", ["create", "create_batch", "bulk_create_batch"])
async def test_the_upload_of_an_object_whose_insert_fails_is_removed(method: str) -> None:
    await Attachment.objects.acreate(label="taken", file="attachments/theirs.txt")
    before = stored_files()
    labels = iter(["fresh", "taken"])  # create_batch: the last object's INSERT fails
    label = "taken" if method == "create" else factory.LazyFunction(lambda: next(labels))
    with pytest.raises(IntegrityError):
        await getattr(AttachmentFactory, method)(*sizes(method), label=label)
    assert stored_files() == before
    assert await Attachment.objects.acount() == 1


@pytest.mark.parametrize("method", ["create", "create_batch", "bulk_create_batch"])
async def test_a_rollback_removes_the_upload_and_never_a_file_the_object_was_pointed_at(method: str) -> None:
    shared = Path(settings.MEDIA_ROOT) / "attachments" / "shared.txt"
    shared.parent.mkdir(parents=True, exist_ok=True)
    shared.write_bytes(b"the user's")
    before = stored_files()
    with pytest.raises(BoomError):
        await getattr(AttachmentFactory, method)(*sizes(method), point_at="attachments/shared.txt")
    assert stored_files() == before
    assert shared.read_bytes() == b"the user's"


# --- 6, 7. time-outs ------------------------------------------------------------------------------


class SlowHooksFactory(AsyncFactory[Person]):
    class Meta:
        model = Person
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"slow {n}")

    @factory.post_generation
    async def slowly(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        await Company.objects.acount()
        await asyncio.sleep(0.05)


TIMEOUTS = ["asyncio.timeout"] + (["asyncio.wait_for"] if sys.version_info >= (3, 12) else [])


async def time_out(kind: str, call: Any, seconds: float) -> None:
    with pytest.raises(TimeoutError):
        if kind == "asyncio.timeout":
            async with asyncio.timeout(seconds):
                await call
        else:  # Python 3.12+: runs the call in this task, as asyncio.timeout does
            await asyncio.wait_for(call, seconds)


@pytest.mark.parametrize("kind", TIMEOUTS)
@pytest.mark.parametrize("method", ["create_batch", "bulk_create_batch"])
async def test_a_timeout_inside_an_async_hook_leaves_the_task_usable(kind: str, method: str) -> None:
    started = time.monotonic()
    await time_out(kind, getattr(SlowHooksFactory, method)(60), 0.3)
    assert time.monotonic() - started < 2.0, "the call stops at the next object, not after every hook"
    assert await Person.objects.acount() == 0
    # The ORM, a factory call and a plain sync_to_async still work in this very task.
    assert await Company.objects.acount() == 0
    assert (await SlowHooksFactory.create()).pk
    assert await sync_to_async(lambda: Person.objects.count())() == 1


# --- 8. bulk_create_batch errors at insert time carry create_batch's notes ------------------------


class OneByOneFriendFactory(FriendFactory):
    class Meta:
        bulk_batches = False


# Each saves its objects its own way: one by one, create_batch's bulk path, bulk_create_batch.
PATHS = [(OneByOneFriendFactory, "create_batch"), (FriendFactory, "create_batch"), (FriendFactory, "bulk_create_batch")]


@pytest.mark.parametrize(("bad", "error"), [(None, IntegrityError), ("x" * 60, Exception)])
async def test_insert_errors_are_the_same_on_every_path(bad: str | None, error: type) -> None:
    if bad is not None and connection.vendor == "sqlite":
        pytest.skip("SQLite does not check a column's length")
    raised = []
    for factory_class, method in PATHS:
        names = factory.Iterator(["Ada", "Grace", bad, "Edsger"])  # the third Friend's user fails
        with pytest.raises(error) as info:
            await getattr(factory_class, method)(4, user__name=names)
        # PostgreSQL names the failing row, with the id its sequence gave that INSERT.
        message = re.sub(r"Failing row contains \(\d+,", "Failing row contains (N,", str(info.value))
        raised.append((type(info.value), message, [n.replace("OneByOne", "") for n in info.value.__notes__]))
    assert raised[0] == raised[1] == raised[2]
    assert raised[0][2] == [
        "(raised while UserFactory made its create object)",
        "(raised while FriendFactory computed 'user')",
    ]
    assert await row_counts(User, Friend) == {"app.User": 0, "app.Friend": 0}


async def test_a_value_error_at_insert_time_carries_the_factory_note() -> None:
    class OneByOneAuthorFactory(AuthorFactory):
        class Meta:
            bulk_batches = False

    raised = []
    for factory_class, method in [(OneByOneAuthorFactory, "create_batch"), (AuthorFactory, "create_batch"),
                                  (AuthorFactory, "bulk_create_batch")]:  # fmt: skip
        with pytest.raises(ValueError) as info:
            await getattr(factory_class, method)(4, rank=factory.Iterator([1, 2, "abc"]))
        raised.append((str(info.value), [n.replace("OneByOne", "") for n in info.value.__notes__]))
    assert raised[0] == raised[1] == raised[2]
    assert raised[0][1] == ["(raised while AuthorFactory made its create object)"]


# --- 9. a Meta.database typo ----------------------------------------------------------------------


class TypoFactory(AsyncFactory[Person]):
    class Meta:
        model = Person
        database = "defualt"

    name = "x"


@pytest.mark.parametrize("method", ["create", "create_batch", "bulk_create_batch"])
async def test_a_meta_database_typo_names_the_factory_the_option_and_the_databases(method: str) -> None:
    with pytest.raises(UnknownDatabaseError) as raised:
        await getattr(TypoFactory, method)(*sizes(method))
    configured = ", ".join(map(repr, settings.DATABASES))  # 'default', 'other' (and 'native' on Python 3.12+)
    assert str(raised.value) == (
        f"TypoFactory.Meta.database = 'defualt' names no database; settings.DATABASES has {configured}. "
        "Fix: set TypoFactory.Meta.database to one of them, or add 'defualt' to settings.DATABASES."
    )
    assert await Person.objects.acount() == 0


# --- 10. a sequence counter that is not an int ---------------------------------------------------


class FloatCounterFactory(AsyncFactory[Person]):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"person {n}")

    @classmethod
    def _setup_next_sequence(cls) -> Any:
        return 10.0


async def test_a_sequence_gets_the_counter_as_an_int_as_in_factory_boy() -> None:
    people = await FloatCounterFactory.build_batch(2)
    assert [p.name for p in people] == ["person 10", "person 11"]
