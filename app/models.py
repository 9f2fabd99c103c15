"""The demo models."""

from django.db import models


class User(models.Model):
    name = models.CharField(max_length=50, default="Dan")

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE)


class Friend(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="friends")
    friend = models.ForeignKey(User, on_delete=models.CASCADE, related_name="friends_of")

    class Meta:
        unique_together = ("user", "friend")
