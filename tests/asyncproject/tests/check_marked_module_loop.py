"""pytest-asyncio with a module-scoped event loop: every test in this module runs in one loop.

A module-scoped async fixture holds loop-bound objects (the loop, a queue); each django_db test
is still rolled back on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from library.factories import AuthorFactory, BookFactory, TagFactory
from library.models import Author, Book, Tag

from tests.helpers import EMPTY, arow_counts

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.django_db]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def module_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def names() -> AsyncIterator[asyncio.Queue[str]]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for name in ("first", "second", "third"):
        queue.put_nowait(name)
    yield queue


@pytest_asyncio.fixture(loop_scope="module")
async def tag() -> Tag:
    return await TagFactory.create()


async def test_probe_empty_at_start(module_loop: asyncio.AbstractEventLoop) -> None:
    assert asyncio.get_running_loop() is module_loop
    assert await arow_counts() == EMPTY


async def test_first_creates_rows(module_loop: asyncio.AbstractEventLoop, names: asyncio.Queue[str], tag: Tag) -> None:
    assert asyncio.get_running_loop() is module_loop
    book = await BookFactory.create(title=await names.get(), tags=[tag])
    assert await Book.objects.filter(tags=tag).aget() == book


async def test_second_sees_none_of_them(module_loop: asyncio.AbstractEventLoop, names: asyncio.Queue[str]) -> None:
    assert asyncio.get_running_loop() is module_loop
    assert await names.get() == "second"
    assert await arow_counts() == EMPTY
    await AuthorFactory.create_batch(3)


async def test_third_sees_none_of_those(module_loop: asyncio.AbstractEventLoop, names: asyncio.Queue[str]) -> None:
    assert asyncio.get_running_loop() is module_loop
    assert await names.get() == "third"
    assert await Author.objects.acount() == 0


async def test_concurrent_tasks_in_one_test(tag: Tag) -> None:
    books = await asyncio.gather(*(BookFactory.create(tags=[tag]) for _ in range(4)))
    assert await Book.objects.filter(tags=tag).acount() == len(books) == 4


async def test_probe_empty_at_end() -> None:
    assert await arow_counts() == EMPTY
