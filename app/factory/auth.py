"""AuthUserFactory: valid users of ``settings.AUTH_USER_MODEL``, looked up at each use, never at import."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, make_password
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from factory import declarations, enums
from factory.django import Password

from .errors import UniqueUsernameError
from .options import DeferredModel, DeferredModelOptions
from .validation import CleanModelFactory

if TYPE_CHECKING:
    # django-stubs' placeholder that its mypy plugin turns into the configured AUTH_USER_MODEL.
    from django.contrib.auth.models import _User  # noqa: F401 - used as the string "_User" below

#: Faker values tried per user for the USERNAME_FIELD before UniqueUsernameError.
USERNAME_TRIES = 200


def _user_model(factory_class: Any) -> Any:
    try:
        return get_user_model()
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            f"{factory_class.__name__} makes users of settings.AUTH_USER_MODEL, but {exc}. Fix: add that "
            "model's app to INSTALLED_APPS ('django.contrib.auth' for 'auth.User') or set AUTH_USER_MODEL."
        ) from exc


#: ``Meta.model`` of AuthUserFactory: ``get_user_model()``, looked up at each use, so the factory
#: follows ``AUTH_USER_MODEL`` (``override_settings`` included) and imports without django.contrib.auth.
USER_MODEL = DeferredModel("get_user_model()", _user_model)


#: The password of users made without one: random, never shown, the same for the whole process.
_DEFAULT_PASSWORD = secrets.token_urlsafe(24)


def hash_password(raw: str | None) -> str:
    """``make_password(raw)``, hashed once per process for each password and password hasher.

    The password hasher is slow on purpose (PBKDF2: hundreds of milliseconds); test users can
    share one encoded value per password. ``None`` gives an unusable password, as Django's.
    """
    if raw is None:
        return make_password(None)
    # get_hasher() follows PASSWORD_HASHERS (Django clears its cache when the setting changes).
    hasher: Any = type(get_hasher())
    return _encoded(raw, hasher)


@lru_cache(maxsize=1024)
def _encoded(raw: str, hasher: type[Any]) -> str:
    return make_password(raw)


class _UserField(declarations.BaseDeclaration):
    """A Faker value for one user field, left out when the user model has no such field.

    For the model's USERNAME_FIELD the value is one not tried before in this process, valid for the
    field and, when creating, absent from the database (case-insensitively).
    """

    def __init__(self, field_name: str, provider: str) -> None:
        super().__init__()
        self.field_name = field_name
        self.provider = provider
        self.tried: dict[str, set[str]] = {}

    def evaluate(self, instance: Any, step: Any, extra: dict[str, Any]) -> Any:
        meta = step.builder.factory_meta
        model = meta.get_model_class()
        try:
            field = model._meta.get_field(self.field_name)
        except FieldDoesNotExist:
            return declarations.SKIP
        fake = factory.Faker._get_faker()
        if self.field_name != model.USERNAME_FIELD:
            return getattr(fake, self.provider)()
        tried = self.tried.setdefault(model._meta.label, set())
        check_database = step.builder.strategy == enums.CREATE_STRATEGY
        for _ in range(USERNAME_TRIES):
            candidate = getattr(fake, self.provider)()
            if candidate in tried:
                continue
            tried.add(candidate)
            try:
                field.run_validators(candidate)
            except ValidationError:
                continue
            taken = model._default_manager.using(meta.database).filter(**{f"{field.name}__iexact": candidate})
            if check_database and taken.exists():
                continue
            return candidate
        raise UniqueUsernameError(meta.factory.__name__, model._meta.label, field.name, USERNAME_TRIES)


class _UserModelFactory(CleanModelFactory["_User"]):
    # factory_boy takes a factory's options class from its bases, so it is set one level up.
    _options_class = DeferredModelOptions

    class Meta:
        abstract = True


class AuthUserFactory(_UserModelFactory):
    """Valid users of ``get_user_model()`` (resolved at each use, never at import), validated before saving.

    A unique Faker ``username`` (or ``email`` when that is the USERNAME_FIELD), a random email,
    first and last name (each left out if the model lacks the field). ``password="x"`` sets a
    usable password, ``password=None`` an unusable one, and by default a random one nobody
    knows. Each distinct password is hashed once per process (see ``hash_password``), so users
    cost about the same with Django's slow default hasher. Traits: ``staff=True``, ``superuser=True``.
    """

    class Meta:
        model = USER_MODEL

    class Params:
        staff = factory.Trait(is_staff=True)
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    username = _UserField("username", "user_name")
    email = _UserField("email", "email")
    first_name = _UserField("first_name", "first_name")
    last_name = _UserField("last_name", "last_name")
    # Hashed in the ORM thread, off the event loop; call-time values are hashed too (Transformer).
    password = Password(_DEFAULT_PASSWORD, transform=hash_password)
