"""Example models for CleanModelFactory, AuthUserFactory, OptionalSubFactory and the recipes."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver

# CleanModelFactory ---------------------------------------------------------------------------


class Item(models.Model):
    """factory_djoy's example: one required, unique name of at most 5 characters."""

    name = models.CharField(max_length=5, unique=True)


class Slot(models.Model):
    """unique_together, a CheckConstraint and a clean() that normalises and rejects."""

    shelf = models.CharField(max_length=10)
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=20, blank=True)

    class Meta:
        unique_together = (("shelf", "position"),)
        constraints = (models.CheckConstraint(condition=models.Q(position__lte=100), name="slot_position_at_most_100"),)

    def clean(self) -> None:
        self.label = self.label.strip().lower()
        if self.label == "reserved":
            raise ValidationError("The label 'reserved' is kept for the shop.")


# AuthUserFactory: a user model whose USERNAME_FIELD is the email, with no name fields ----------


class EmailUserManager(BaseUserManager["EmailUser"]):
    pass


class EmailUser(AbstractBaseUser):
    email = models.EmailField(unique=True)
    is_staff = models.BooleanField(default=False)
    is_superuser = models.BooleanField(default=False)

    objects = EmailUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"


# OptionalSubFactory --------------------------------------------------------------------------


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)


class Article(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, null=True, blank=True, related_name="articles")
    editor = models.ForeignKey(Author, on_delete=models.SET_NULL, null=True, blank=True, related_name="edits")


# Recipe: ForeignKey (SubFactory) and reverse ForeignKey (RelatedFactory) -------------------------


class Group(models.Model):
    name = models.CharField(max_length=50)


class Agent(models.Model):
    first_name = models.CharField(max_length=50)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="agents")


class AgentLog(models.Model):
    ACTION_CREATE = "create"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="logs")
    action = models.CharField(max_length=20)


# Recipe: a Profile made by a post_save handler, and by the factory with the signal muted --------


class Member(models.Model):
    username = models.CharField(max_length=50, unique=True)


class Profile(models.Model):
    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="profile")
    title = models.CharField(max_length=20, blank=True)


@receiver(post_save, sender=Member, dispatch_uid="recipes.create_profile")
def create_profile(sender: type[Member], instance: Member, created: bool, **kwargs: Any) -> None:
    if created:
        Profile.objects.create(member=instance)


# Recipe: simple ManyToMany (post_generation) -------------------------------------------------


class Club(models.Model):
    name = models.CharField(max_length=50)


class Player(models.Model):
    name = models.CharField(max_length=50)
    clubs = models.ManyToManyField(Club, blank=True, related_name="players")


# Recipe: ManyToMany with a through model (several RelatedFactory) ------------------------------


class Musician(models.Model):
    name = models.CharField(max_length=50)


class Band(models.Model):
    name = models.CharField(max_length=50)
    members = models.ManyToManyField(Musician, through="BandMembership", related_name="bands")


class BandMembership(models.Model):
    musician = models.ForeignKey(Musician, on_delete=models.CASCADE)
    band = models.ForeignKey(Band, on_delete=models.CASCADE)
    rank = models.IntegerField()


# Recipe: copying fields to a SubFactory (SelfAttribute) ---------------------------------------


class Country(models.Model):
    name = models.CharField(max_length=50)
    lang = models.CharField(max_length=5)


class Citizen(models.Model):
    name = models.CharField(max_length=50)
    lang = models.CharField(max_length=5)
    country = models.ForeignKey(Country, on_delete=models.CASCADE)


class Company(models.Model):
    name = models.CharField(max_length=50)
    owner = models.ForeignKey(Citizen, on_delete=models.CASCADE)
    country = models.ForeignKey(Country, on_delete=models.CASCADE)


# Recipe: a custom manager method in _create --------------------------------------------------


class SignupManager(models.Manager["Signup"]):
    def create_user(self, username: str, email: str, password: str) -> Signup:
        return self.create(username=username.lower(), email=email, password=make_password(password))

    async def acreate_user(self, username: str, email: str, password: str) -> Signup:
        return await sync_to_async(self.create_user)(username, email, password)


class Signup(models.Model):
    username = models.CharField(max_length=50, unique=True)
    email = models.EmailField()
    password = models.CharField(max_length=128)

    objects = SignupManager()


# Advanced patterns: schools, courses, students and rosters -----------------------------------


class School(models.Model):
    name = models.CharField(max_length=100)


class SchoolCourse(models.Model):
    name = models.CharField(max_length=100)
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="courses")
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        constraints = (
            models.CheckConstraint(
                condition=models.Q(start_date__lt=models.F("end_date")), name="school_course_start_before_end"
            ),
        )


class Student(models.Model):
    email = models.EmailField(max_length=255)
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="students")

    class Meta:
        unique_together = (("email", "school"),)


class Roster(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="rosters")
    school_course = models.ForeignKey(SchoolCourse, on_delete=models.CASCADE, related_name="rosters")
    start_date = models.DateField()
    end_date = models.DateField()
