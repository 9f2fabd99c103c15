"""Auth users and password hashing: ``await AuthUserFactory.create_batch(n)`` with PBKDF2 and with MD5.

The issue's target: a user made with the default password, a given password or none costs about what
a user without hashing costs, with Django's default hasher: ``create_batch(100)`` with PBKDF2 (Django's
default ``PASSWORD_HASHERS``) <= 2x the time with MD5, for each of the three cases. AuthUserFactory
hashes each distinct password once per process and hasher (``app.factory.auth.hash_password``), so
the first PBKDF2 hash of a password (~0.3-0.7 s) is paid once: the warm-up pays it before the rounds,
and it is measured apart, once per database, as the first call with a password never hashed before.

Each timed run: the user tables emptied, ``gc.collect()``, then the one call inside
``override_settings(PASSWORD_HASHERS=...)``; the rounds are interleaved, with the GC frozen after the
warm-up, as for the variants. Faker is reseeded once per database (a seed of its own), not before
each run: usernames are unique per process, and a replayed sequence would meet only names tried before.
"""

from __future__ import annotations

import asyncio
import gc
import random
import secrets
import time
from functools import partial
from typing import Any

from django.conf import global_settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from factory.random import reseed_random

from app.factory import AuthUserFactory

from .databases import BenchmarkRouter, auth_user_tables, empty_tables
from .figures import DASH, TIMES, cell, met_line, spread_dict, verdict
from .measure import Progress, Spread, frozen_gc, interleave

HASHERS = {
    "pbkdf2": list(global_settings.PASSWORD_HASHERS),  # Django's default: PBKDF2PasswordHasher first
    "md5": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}
ALGORITHMS = {"pbkdf2": "pbkdf2_sha256", "md5": "md5"}
CASES: dict[str, tuple[str, dict[str, Any]]] = {  # key: (label, create_batch's keyword arguments)
    "default": ("default password", {}),
    "given": ('password="pw"', {"password": "pw"}),
    "none": ("password=None", {"password": None}),
}
BOUND = 2.0  # PBKDF2 / MD5, per case


def steps(rounds: int) -> int:
    """Timed runs per database: a warm-up and ``rounds`` rounds of every (case, hasher), and the first-hash run."""
    return len(CASES) * len(HASHERS) * (rounds + 1) + 1


def user_factory(alias: str) -> Any:
    class BenchAuthUserFactory(AuthUserFactory):
        class Meta:
            database = alias

    return BenchAuthUserFactory


class AuthRunner:
    """Times one ``create_batch(n)`` of auth users at a time, each from empty user tables."""

    def __init__(self, loop: asyncio.AbstractEventLoop, alias: str) -> None:
        self.loop, self.alias, self.factory = loop, alias, user_factory(alias)

    def time(self, hasher: str, kwargs: dict[str, Any], n: int) -> float:
        """Seconds for ``create_batch(n, **kwargs)`` with ``PASSWORD_HASHERS`` = ``HASHERS[hasher]``."""
        empty_tables(self.alias, auth_user_tables())
        gc.collect()
        with override_settings(PASSWORD_HASHERS=HASHERS[hasher]):
            seconds, users = self.loop.run_until_complete(self._timed(kwargs, n))
        rows = get_user_model().objects.using(self.alias).count()
        if rows != n:
            raise RuntimeError(f"AuthUserFactory.create_batch({n}) left {rows} users")
        expected = ALGORITHMS[hasher] if kwargs.get("password", "") is not None else None
        algorithm = users[0].password.split("$", 1)[0] if users[0].has_usable_password() else None
        if algorithm != expected:
            raise RuntimeError(f"{hasher} made a password hashed with {algorithm}, expected {expected}")
        return seconds

    async def _timed(self, kwargs: dict[str, Any], n: int) -> tuple[float, list[Any]]:
        start = time.perf_counter()
        users = await self.factory.create_batch(n, **kwargs)
        return time.perf_counter() - start, users


def measure(
    loop: asyncio.AbstractEventLoop, alias: str, backend: str, n: int, rounds: int, seed: int, progress: Progress
) -> dict[str, Any]:
    """The auth section of one database: every (case, hasher) in interleaved rounds, then the first hash."""
    reseed_random(f"{seed} auth {backend}")
    BenchmarkRouter.auth_alias = alias
    try:
        runner = AuthRunner(loop, alias)
        runs = {
            f"{case}/{hasher}": partial(runner.time, hasher, kwargs, n)
            for case, (_, kwargs) in CASES.items()
            for hasher in HASHERS
        }
        for key, run in runs.items():  # hashes the default password and "pw" with each hasher, once per process
            progress.step(f"{backend:<10} auth warm-up {key}")
            run()
        with frozen_gc():
            samples = interleave(runs, rounds, random.Random(seed), progress, f"{backend:<10} auth")
            progress.step(f"{backend:<10} auth first PBKDF2 hash of a new password")
            first = runner.time("pbkdf2", {"password": f"never hashed before {secrets.token_hex(8)}"}, n)
    finally:
        BenchmarkRouter.auth_alias = None
    ms = {key: [seconds * 1e3 for seconds in values] for key, values in samples.items()}
    cases = {}
    for case, (label, _) in CASES.items():
        pbkdf2, md5 = ms[f"{case}/pbkdf2"], ms[f"{case}/md5"]
        ratio = {
            **spread_dict(Spread.of_ratios(pbkdf2, md5)),
            "of_medians": Spread.of(pbkdf2).median / Spread.of(md5).median,
        }
        cases[case] = {
            "label": label,
            "ms_per_call": {"pbkdf2": spread_dict(Spread.of(pbkdf2)), "md5": spread_dict(Spread.of(md5))},
            "samples_ms_per_call": {"pbkdf2": pbkdf2, "md5": md5},
            "pbkdf2_vs_md5": {**ratio, "bound": BOUND, **verdict(ratio, BOUND)},
        }
    steady = Spread.of(ms["given/pbkdf2"]).median
    return {
        "n": n,
        "rounds": rounds,
        "password_hashers": HASHERS,
        "cases": cases,
        "first_pbkdf2_call": {
            "ms": first * 1e3,
            "steady_ms": steady,
            "one_time_ms": first * 1e3 - steady,
            "note": "once per process per distinct password (and hasher), the default password included",
        },
    }


def lines(backend: str, auth: dict[str, Any], brackets: str = "[]") -> tuple[list[str], list[str], tuple[str, str]]:
    """(the rows per case, the target lines, the one-time cost) of one database's auth section."""
    n = auth["n"]
    rows = [
        f"{row['label']:<20} PBKDF2 {cell(row['ms_per_call']['pbkdf2'], 1, ' ms', brackets):>26}   "
        f"MD5 {cell(row['ms_per_call']['md5'], 1, ' ms', brackets):>26}   "
        f"PBKDF2/MD5 {cell(row['pbkdf2_vs_md5'], 2, TIMES, brackets)}"
        for row in auth["cases"].values()
    ]
    targets = [
        met_line(
            row["pbkdf2_vs_md5"],
            f"create_batch({n}) with PBKDF2 ≤ {BOUND:.2f}{TIMES} with MD5 ({row['label']})",
            brackets,
        )
        for row in auth["cases"].values()
    ]
    first = auth["first_pbkdf2_call"]
    once = (
        f"One-time cost on {backend}: the first create_batch({n}) with PBKDF2 and a password never hashed before "
        f"took {first['ms']:.0f} ms,",
        f'against {first["steady_ms"]:.0f} ms once hashed (password="pw", median): {first["one_time_ms"]:.0f} ms '
        f"for the one hash, paid {first['note']}.",
    )
    return rows, targets, once


def text(backend: str, auth: dict[str, Any]) -> list[str]:
    rows, targets, once = lines(backend, auth)
    return [
        f"Auth users on {backend}: await AuthUserFactory.create_batch({auth['n']}), users of get_user_model() "
        "(auth_user), with PASSWORD_HASHERS =",
        f"Django's default (PBKDF2 first) or MD5 (override_settings), {auth['rounds']} interleaved round(s) after a "
        "warm-up that hashed each password once;",
        f"ms per call: median [min{DASH}max]; PBKDF2/MD5: median [min{DASH}max] of the per-round ratios.",
        *(f"  {row}" for row in rows),
        f"Target on {backend}:",
        *(f"  {line}" for line in targets),
        once[0],
        f"  {once[1]}",
    ]


def markdown(backend: str, auth: dict[str, Any]) -> list[str]:
    _, targets, once = lines(backend, auth, "()")
    out = [
        "",
        "### Auth users and password hashing",
        "",
        f"`await AuthUserFactory.create_batch({auth['n']})`, users of `get_user_model()` (`auth_user`), with "
        "`PASSWORD_HASHERS` = Django's default (PBKDF2 first) or MD5 (`override_settings`), "
        f"{auth['rounds']} interleaved round(s) after a warm-up that hashed each password once. "
        f"ms per call: median (min{DASH}max); PBKDF2/MD5: median (min{DASH}max) of the per-round ratios.",
        "",
        f"| Auth users | PBKDF2 ms/call | MD5 ms/call | PBKDF2/MD5 {TIMES} |",
        "|---|---:|---:|---:|",
    ]
    for row in auth["cases"].values():
        ms = row["ms_per_call"]
        out.append(
            f"| {row['label']} | {cell(ms['pbkdf2'], 1, '', '()')} | {cell(ms['md5'], 1, '', '()')} "
            f"| {cell(row['pbkdf2_vs_md5'], 2, TIMES, '()')} |"
        )
    out += ["", *(f"- {' '.join(line.split())}" for line in targets), f"- {' '.join(once)}"]
    return out
