"""What every test file of the project uses: table counts for the leak probes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connections
from django.db.models import Model
from library.models import Author, Book, Review, Tag

R = TypeVar("R")

User = get_user_model()
BookTag = Book.tags.through
MODELS: dict[str, type[Model]] = {
    "author": Author,
    "book": Book,
    "tag": Tag,
    "book_tags": BookTag,
    "review": Review,
    "user": User,
    "session": Session,
}
EMPTY = dict.fromkeys(MODELS, 0)


def row_counts() -> dict[str, int]:
    """Rows per table, with the sync ORM."""
    return {name: model._default_manager.count() for name, model in MODELS.items()}


async def arow_counts() -> dict[str, int]:
    """Rows per table, with the async ORM."""
    return {name: await model._default_manager.acount() for name, model in MODELS.items()}


def in_new_thread(work: Callable[[], R]) -> R:
    """Run ``work`` in a new thread, on that thread's own database connection, closed after.

    A new connection sees only committed rows: this is how a test shows that it committed.
    """
    results: list[R] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def committed_authors() -> int:
    """Authors committed to the database, counted on a new connection."""
    return in_new_thread(Author.objects.count)
