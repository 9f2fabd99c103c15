"""Models that exercise every factory_boy feature the core suite tests."""

from __future__ import annotations

from typing import Any

from django.db import models


class Company(models.Model):
    name = models.CharField(max_length=100, unique=True)
    country = models.CharField(max_length=50, default="FR")


class Team(models.Model):
    name = models.CharField(max_length=100)


class Person(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=50, blank=True)
    rank = models.IntegerField(default=0)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="people")
    teams = models.ManyToManyField(Team, blank=True, related_name="members")


class Address(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="addresses")
    city = models.CharField(max_length=100)


class Document(models.Model):
    file = models.FileField(upload_to="docs/")
    image = models.ImageField(upload_to="img/", null=True, blank=True)


class AccountManager(models.Manager["Account"]):
    def create_account(self, username: str, **extra: Any) -> Account:
        return self.create(username=username.lower(), **extra)


class Account(models.Model):
    username = models.CharField(max_length=50, unique=True)
    password = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=100, blank=True)

    objects = AccountManager()


class TaggedManager(models.Manager["Tagged"]):
    def create(self, **kwargs: Any) -> Tagged:
        kwargs["label"] = f"managed:{kwargs.get('label', '')}"
        return super().create(**kwargs)


class Tagged(models.Model):
    label = models.CharField(max_length=100)

    objects = TaggedManager()


class Bag(models.Model):
    """JSON fields for factory.Dict and factory.List (core suite: test_declarations)."""

    data = models.JSONField(default=dict)
    items = models.JSONField(default=list)

    async def aset_items(self, items: list[Any]) -> None:
        self.items = items
        await self.asave(update_fields=["items"])


# --- issue 10's hostile cases ---------------------------------------------------------------------


class Routed(models.Model):
    """Sent to the "other" database by tests.routers.OtherRouter."""

    name = models.CharField(max_length=100, unique=True)


class RoutedChild(models.Model):
    """Sent to the "other" database with its parent by tests.routers.OtherRouter."""

    parent = models.ForeignKey(Routed, on_delete=models.CASCADE, related_name="children")
    label = models.CharField(max_length=100)


class AuditLog(models.Model):
    entry = models.CharField(max_length=100)


class Audited(models.Model):
    """A save() that writes a second row, then fails for names starting with "fail"."""

    name = models.CharField(max_length=100)

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        AuditLog.objects.using(self._state.db).create(entry=f"saved {self.name}")
        if self.name.startswith("fail"):
            raise ValueError(f"save() refused {self.name}")


class LabelQuerySet(models.QuerySet[Any]):
    def create(self, **kwargs: Any) -> Any:
        kwargs["label"] = f"queryset:{kwargs.get('label', '')}"
        return super().create(**kwargs)


class QuerySetManaged(models.Model):
    """A manager built from a QuerySet whose create() changes the row."""

    label = models.CharField(max_length=100)

    objects = LabelQuerySet.as_manager()


class LabelManager(models.Manager["GetQuerySetManaged"]):
    def get_queryset(self) -> models.QuerySet[GetQuerySetManaged]:
        return LabelQuerySet(self.model, using=self._db)


class GetQuerySetManaged(models.Model):
    """A manager whose get_queryset() returns a QuerySet with its own create()."""

    label = models.CharField(max_length=100)

    objects = LabelManager()


class SavedLabel(models.Model):
    """A save() override that changes the row."""

    label = models.CharField(max_length=100)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.label = f"saved:{self.label}"
        super().save(*args, **kwargs)


# --- issue 18's hostile cases ---------------------------------------------------------------------


class IssuedNumber(models.Model):
    """One row per invoice number handed out, written by Invoice's field default."""


def issue_number() -> int:
    """A field default that writes a row: the number is that row's primary key."""
    return IssuedNumber.objects.create().pk


class Invoice(models.Model):
    number = models.IntegerField(default=issue_number)
    code = models.CharField(max_length=20, unique=True)


class Attachment(models.Model):
    label = models.CharField(max_length=50, unique=True)
    file = models.FileField(upload_to="attachments/")
