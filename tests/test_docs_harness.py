"""The docs harness (tests/docs_harness.py) on small pages held in strings."""

from __future__ import annotations

import textwrap
import traceback

import pytest

from tests.docs_harness import DocsError, Options, Page, is_generated, run_page
from tests.recipes import models as recipes_models


def page(text: str, path: str = "docs/example.md") -> Page:
    """A page from an indented string; its first line is the one after the opening quotes."""
    return Page(path, textwrap.dedent(text).removeprefix("\n"))


async def failure(doc: Page) -> DocsError:
    with pytest.raises(DocsError) as caught:
        await run_page(doc)
    return caught.value


async def test_a_failing_block_reports_the_page_its_lines_and_the_exception() -> None:
    doc = page("""
        # Example

        ```python
        total = 1
        ```

        ```python
        total += 1
        raise ValueError(f"boom {total}")
        ```
    """)
    error = await failure(doc)
    assert str(error) == "docs/example.md, line 9 (```python block at line 7): ValueError: boom 2"
    assert isinstance(error.__cause__, ValueError)
    last = traceback.extract_tb(error.__cause__.__traceback__)[-1]
    # Line 2 of the block whose fence is on line 7, with its text.
    assert (last.filename, last.lineno, last.line) == ("docs/example.md:7", 2, 'raise ValueError(f"boom {total}")')


async def test_a_failing_assert_shows_its_values() -> None:
    doc = page("""
        ```python
        names = ["Ops"]
        assert names == ["Dev"]
        ```
    """)
    error = await failure(doc)
    assert str(error).startswith(
        "docs/example.md, line 3 (```python block at line 1): AssertionError: assert ['Ops'] == ['Dev']"
    )


async def test_a_syntax_error_reports_its_line() -> None:
    doc = page("""
        text

        ```python
        x = 1
        def broken(:
        ```
    """)
    error = await failure(doc)
    assert str(error).startswith("docs/example.md, line 5 (```python block at line 3): invalid syntax")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "```python xyz\nx = 1\n```\n",
            "docs/example.md:1: info string 'python xyz': write ```python (executed) or ```python # not run: <reason>",
            id="python xyz",
        ),
        pytest.param("```python3\nx = 1\n```\n", "info string 'python3'", id="python3"),
        pytest.param("```Python\nx = 1\n```\n", "info string 'Python'", id="Python"),
        pytest.param("```py\nx = 1\n```\n", "info string 'py'", id="py"),
        pytest.param("```python # not run\nx = 1\n```\n", "info string 'python # not run'", id="no colon"),
        pytest.param(
            "```python # not run:\nx = 1\n```\n",
            "docs/example.md:1: '# not run:' needs a reason after the colon",
            id="not run without reason",
        ),
        pytest.param("```python # not run:   \nx = 1\n```\n", "needs a reason", id="not run, blank reason"),
        pytest.param("text\n\n```python\n\n```\n", "docs/example.md:3: empty ```python block", id="empty block"),
        pytest.param("```python\nx = 1\n", "docs/example.md:1: this code fence is never closed", id="unclosed"),
        pytest.param(
            "<!-- docs-test: model=app.models -->\n",
            "docs/example.md:1: docs-test option 'model=app.models': expected key=value, "
            "with key one of databases, models, setup, transaction",
            id="unknown option",
        ),
        pytest.param(
            "<!-- docs-test: setup=a:b -->\n<!-- docs-test: setup=c:d -->\n",
            "docs/example.md:2: docs-test option 'setup' is given twice",
            id="option twice",
        ),
        pytest.param("<!-- docs-test: transaction=yes -->\n", "use true or false", id="transaction=yes"),
    ],
)
async def test_a_page_that_breaks_the_conventions_is_an_error(text: str, message: str) -> None:
    assert message in str(await failure(Page("docs/example.md", text)))


async def test_other_languages_and_not_run_blocks_are_not_executed() -> None:
    doc = page("""
        ```python # not run: needs a terminal
        raise SystemExit("not run")
        ```

        ```sh
        rm -rf /
        ```

        ```
        raise SystemExit("no info string")
        ```

        A page without Python is fine too.
    """)
    assert doc.python_blocks() == []
    await run_page(doc)


async def test_top_level_await_and_one_namespace_per_page() -> None:
    doc = page("""
        ```python
        import asyncio

        value = await asyncio.sleep(0, result=42)
        ```

        ```python
        assert value == 42
        assert __name__ == "docs_example"
        assert "factory" not in globals()   # pages import what they use
        ```
    """)
    await run_page(doc)


@pytest.mark.django_db
async def test_top_level_await_with_the_database_and_models() -> None:
    doc = page("""
        <!-- docs-test: models=tests.recipes.models -->

        ```python
        group = await Group.objects.acreate(name="Ops")
        assert [g.name async for g in Group.objects.filter(pk=group.pk)] == ["Ops"]
        assert "models" not in globals()   # a name the models module imports is not given
        ```
    """)
    await run_page(doc)


async def test_a_future_import_applies_to_the_rest_of_the_page() -> None:
    doc = page("""
        ```python
        from __future__ import annotations
        ```

        ```python
        def f() -> NotDefinedAnywhere: ...
        assert f.__annotations__ == {"return": "NotDefinedAnywhere"}
        ```
    """)
    await run_page(doc)


async def test_factories_may_name_each_other_by_the_page_module_path() -> None:
    doc = page("""
        ```python
        import importlib

        class Later: ...

        assert importlib.import_module(__name__).Later is Later
        ```
    """)
    module = await run_page(doc)
    assert module.Later.__module__ == "docs_example"


async def test_a_model_block_that_differs_from_the_real_model_fails_with_a_diff() -> None:
    doc = page("""
        <!-- docs-test: models=tests.recipes.models -->

        ```python
        class Group(models.Model):
            name = models.CharField(max_length=60)
        ```
    """)
    error = await failure(doc)
    assert str(error) == textwrap.dedent("""\
        docs/example.md, line 4 (model block at line 3): Group differs from tests.recipes.models.Group:
        --- tests.recipes.models.Group
        +++ docs/example.md:4
        @@ -1,2 +1,2 @@
         class Group(models.Model):
        -    name = models.CharField(max_length=50)
        +    name = models.CharField(max_length=60)""")


async def test_a_matching_model_block_is_checked_not_run_and_gives_the_real_objects() -> None:
    doc = page("""
        <!-- docs-test: models=tests.recipes.models -->

        ```python
        from django.db import models
        from django.db.models.signals import post_save
        from django.dispatch import receiver

        class Member(models.Model):

            username = models.CharField(max_length=50, unique=True)

        class Profile(models.Model):
            member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="profile")
            title = models.CharField(max_length=20, blank=True)

        @receiver(post_save, sender=Member, dispatch_uid="recipes.create_profile")
        def create_profile(sender: type[Member], instance: Member, created: bool, **kwargs: Any) -> None:
            if created:
                Profile.objects.create(member=instance)
        ```
    """)
    # Blank lines and trailing spaces do not count; running the classes would define new models.
    module = await run_page(Page(doc.path, doc.text.replace("blank=True)\n", "blank=True)   \n")))
    assert module.Member is recipes_models.Member
    assert module.create_profile is recipes_models.create_profile
    assert module.models is recipes_models.models


@pytest.mark.parametrize(
    ("block", "message"),
    [
        pytest.param(
            "class Group(models.Model):\n    name = models.CharField(max_length=50)\n\nclass GroupFactory: ...\n",
            "docs/example.md, line 6 (model block at line 2): GroupFactory is not defined in tests.recipes.models",
            id="a factory",
        ),
        pytest.param(
            "class Group(models.Model):\n    name = models.CharField(max_length=50)\n\nprint(Group)\n",
            "docs/example.md, line 6 (model block at line 2): a model block holds only imports, definitions and "
            "assignments",
            id="a call",
        ),
        pytest.param(
            "class Group(models.Model):\n    name = models.CharField(max_length=50)\n\ngroup = Group()\n",
            "docs/example.md, line 6 (model block at line 2): group is not defined in tests.recipes.models",
            id="an assignment",
        ),
        pytest.param(
            "class ProxyMember(Member):\n    class Meta:\n        proxy = True\n",
            "docs/example.md, line 3 (model block at line 2): ProxyMember is not defined in tests.recipes.models",
            id="a class whose base is a model",
        ),
    ],
)
async def test_a_model_block_holds_only_real_definitions(block: str, message: str) -> None:
    text = f"<!-- docs-test: models=tests.recipes.models -->\n```python\n{block}```\n"
    assert str(await failure(Page("docs/example.md", text))) == message


async def test_a_model_block_needs_a_models_option() -> None:
    doc = page("""
        ```python
        class Group(models.Model):
            name = models.CharField(max_length=50)
        ```
    """)
    error = await failure(doc)
    assert str(error) == (
        "docs/example.md, line 2 (model block at line 1): defines models, but the page has no models= option"
    )


def create_group_from_setup() -> None:
    recipes_models.Group.objects.create(name="from setup")  # sync ORM: a sync setup runs in the ORM thread


@pytest.mark.django_db
async def test_setup_runs_before_the_first_block() -> None:
    doc = page("""
        <!-- docs-test: models=tests.recipes.models setup=tests.test_docs_harness:create_group_from_setup -->

        ```python
        assert await Group.objects.filter(name="from setup").aexists()
        ```
    """)
    await run_page(doc)


def test_options() -> None:
    doc = page("""
        <!-- docs-test: models=app.models,tests.recipes.models transaction=true -->

        ```text
        <!-- docs-test: not=an-option -->
        ```

        <!--
          docs-test: models=tests.bulkapp.models databases=default,other setup=tests.x:y
        -->
    """)
    assert doc.options == Options(
        models=("app.models", "tests.recipes.models", "tests.bulkapp.models"),
        setup="tests.x:y",
        transaction=True,
        databases=("default", "other"),
    )
    assert page("No options.").options == Options(transaction=False, databases=("default",))


@pytest.mark.parametrize(
    ("path", "text", "generated"),
    [
        ("docs/benchmark-results.md", "# Benchmark results\n", True),
        ("docs/report.md", "<!-- Generated by `python -m tool`; do not edit -->\n# Report\n", True),
        ("docs/report.md", "# Report\n<!-- generated by hand -->\n", False),
        ("docs/recipes.md", "# Recipes\n", False),
    ],
)
def test_generated_pages_are_recognised(path: str, text: str, generated: bool) -> None:
    assert is_generated(Page(path, text)) is generated
