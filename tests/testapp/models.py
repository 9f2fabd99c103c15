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
