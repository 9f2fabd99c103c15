"""CleanModelFactory: full_clean() before every save; invalid objects are never saved."""

from __future__ import annotations

import re

import factory
import pytest
from django.core.exceptions import ValidationError

from app.factory import AsyncFactoryError, CleanModelFactory, FactoryValidationError
from tests.recipes.factories import ItemFactory, SchoolCourseFactory, SlotFactory
from tests.recipes.models import Item, School, SchoolCourse, Slot

pytestmark = pytest.mark.django_db


async def test_create_saves_a_valid_object() -> None:
    item = await ItemFactory.create()
    assert item.pk is not None
    assert len(item.name) == 5
    assert await Item.objects.filter(pk=item.pk, name=item.name).aexists()


async def test_too_long_value_names_factory_model_field_value_and_message() -> None:
    with pytest.raises(ValidationError) as caught:
        await ItemFactory.create(name="toolong")
    assert str(caught.value) == (
        'ItemFactory could not create a valid Item: name="toolong": '
        "Ensure this value has at most 5 characters (it has 7)."
    )
    assert isinstance(caught.value, FactoryValidationError)
    assert isinstance(caught.value, AsyncFactoryError)
    assert caught.value.message_dict == {"name": ["Ensure this value has at most 5 characters (it has 7)."]}
    assert await Item.objects.acount() == 0


async def test_build_skips_validation() -> None:
    item = await ItemFactory.build(name="toolong")
    assert item.pk is None
    assert item.name == "toolong"
    assert await Item.objects.acount() == 0


async def test_unique_field_is_checked_before_the_insert() -> None:
    await ItemFactory.create(name="tap")
    with pytest.raises(FactoryValidationError, match=re.escape('name="tap": Item with this Name already exists.')):
        await ItemFactory.create(name="tap")
    assert await Item.objects.acount() == 1


async def test_every_bad_field_is_listed() -> None:
    with pytest.raises(FactoryValidationError) as caught:
        await SlotFactory.create(shelf="much too long", position=-1)
    assert str(caught.value) == (
        'SlotFactory could not create a valid Slot: shelf="much too long": Ensure this value has at most '
        "10 characters (it has 13).; position=-1: Ensure this value is greater than or equal to 0."
    )
    assert set(caught.value.error_dict) == {"shelf", "position"}


async def test_unique_together_lists_the_clashing_fields() -> None:
    await SlotFactory.create(shelf="B", position=7)
    with pytest.raises(FactoryValidationError) as caught:
        await SlotFactory.create(shelf="B", position=7)
    assert str(caught.value) == (
        'SlotFactory could not create a valid Slot: shelf="B", position=7: '
        "Slot with this Shelf and Position already exists."
    )
    assert await Slot.objects.acount() == 1


async def test_check_constraint_is_validated() -> None:
    with pytest.raises(FactoryValidationError) as caught:
        await SlotFactory.create(position=101)
    assert str(caught.value) == (
        "SlotFactory could not create a valid Slot: Constraint “slot_position_at_most_100” is violated."
    )
    assert await Slot.objects.acount() == 0


async def test_model_clean_runs_and_its_changes_are_saved() -> None:
    slot = await SlotFactory.create(label="  Top Shelf ")
    assert (await Slot.objects.aget(pk=slot.pk)).label == "top shelf"
    with pytest.raises(FactoryValidationError, match=re.escape("The label 'reserved' is kept for the shop.")):
        await SlotFactory.create(label="Reserved")
    assert await Slot.objects.acount() == 1


async def test_a_failing_batch_saves_nothing() -> None:
    with pytest.raises(FactoryValidationError, match='name="toolong"'):
        await ItemFactory.create_batch(3, name=factory.Iterator(["ok1", "ok2", "toolong"]))
    assert await Item.objects.acount() == 0


async def test_objects_made_for_an_invalid_object_are_rolled_back() -> None:
    with pytest.raises(FactoryValidationError, match="school_course_start_before_end"):
        await SchoolCourseFactory.create(end_date=factory.SelfAttribute("start_date"))
    assert await School.objects.acount() == 0  # made by the SubFactory before the course failed
    assert await SchoolCourse.objects.acount() == 0


class ItemByNameFactory(CleanModelFactory[Item]):
    name = "fixed"

    class Meta:
        model = Item
        django_get_or_create = ("name",)


async def test_get_or_create_returns_an_existing_row_unvalidated() -> None:
    invalid = await ItemByNameFactory.build(name="")  # blank: fails full_clean(), fits the column
    await invalid.asave()
    assert (await ItemByNameFactory.create(name="")).pk == invalid.pk
    assert (await ItemByNameFactory.create()).pk == (await ItemByNameFactory.create()).pk
    assert await Item.objects.acount() == 2


async def test_get_or_create_validates_a_new_row() -> None:
    with pytest.raises(FactoryValidationError, match='ItemByNameFactory could not create a valid Item: name="sixsix"'):
        await ItemByNameFactory.create(name="sixsix")
    assert await Item.objects.acount() == 0


async def test_get_or_create_without_a_key_value_names_the_field() -> None:
    class NoNameFactory(CleanModelFactory[Item]):
        class Meta:
            model = Item
            django_get_or_create = ("name",)

    with pytest.raises(
        factory.errors.FactoryError, match=re.escape("'name' in factory NoNameFactory. Fix: pass name=")
    ):
        await NoNameFactory.create()


async def test_bulk_create_batch_validates_too() -> None:
    with pytest.raises(FactoryValidationError, match='name="toolong"'):
        await ItemFactory.bulk_create_batch(3, name=factory.Iterator(["ok1", "ok2", "toolong"]))
    assert await Item.objects.acount() == 0
    assert len(await ItemFactory.bulk_create_batch(3)) == 3
    assert await Item.objects.acount() == 3
