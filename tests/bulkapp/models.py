"""Models for tests/test_bulk.py: one per situation bulk_create_batch must handle."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    rank = models.IntegerField(default=0)
    joined = models.DateTimeField(auto_now_add=True)

    def promote(self, rank: int) -> None:
        self.rank = rank


class Biography(models.Model):
    author = models.OneToOneField(Author, on_delete=models.CASCADE, related_name="biography")
    text = models.CharField(max_length=100, blank=True)


class Book(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    title = models.CharField(max_length=100)
    isbn = models.CharField(max_length=20, unique=True)


class Review(models.Model):
    """Two parents at the same SubFactory depth, one pointing at the other's parent."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="reviews")
    stars = models.IntegerField(default=3)


class Category(models.Model):
    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)


class BookTag(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="book_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="book_tags")


class Label(models.Model):
    """A foreign key to a unique field other than the primary key."""

    tag = models.ForeignKey(Tag, to_field="name", on_delete=models.CASCADE, related_name="labels")


class Place(models.Model):
    name = models.CharField(max_length=100)


class Restaurant(Place):
    """Multi-table inheritance: bulk_create refuses it."""

    serves_pizza = models.BooleanField(default=False)


class Comment(models.Model):
    # No database constraint: apps without migrations get their tables before contenttypes'
    # migration makes django_content_type, and PostgreSQL checks constraints at once.
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, db_constraint=False)
    object_id = models.PositiveIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    text = models.CharField(max_length=100)


class Token(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    label = models.CharField(max_length=50)


class StampedManager(models.Manager["Stamped"]):
    def create(self, **kwargs: Any) -> Stamped:
        kwargs["label"] = f"managed:{kwargs.get('label', '')}"
        return super().create(**kwargs)


class Stamped(models.Model):
    label = models.CharField(max_length=100)

    objects = StampedManager()


class Settings(models.Model):
    data = models.JSONField(default=dict)
    owner = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="settings")


class Dated(models.Model):
    """auto_now, auto_now_add and a database default: create_batch sets them on either path."""

    label = models.CharField(max_length=50)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    status = models.CharField(max_length=20, db_default="new")
