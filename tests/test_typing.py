"""The public API's types, checked by mypy --strict with django-stubs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mypy(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *paths], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_assert_type_checks_pass() -> None:
    result = mypy("tests/typing_checks.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_type_is_reported(tmp_path: Path) -> None:
    wrong = ROOT / "tests" / "_typing_wrong.py"
    wrong.write_text(
        "from typing import assert_type\n"
        "from app.factories import UserFactory\n"
        "from app.models import Friend\n"
        "async def f() -> None:\n"
        "    assert_type(await UserFactory.create(), Friend)\n"
    )
    try:
        result = mypy(str(wrong.relative_to(ROOT)))
    finally:
        wrong.unlink()
    assert result.returncode == 1
    assert 'Expression is of type "User", not "Friend"' in result.stdout


def test_a_copy_of_the_package_passes_mypy_with_default_settings(tmp_path: Path) -> None:
    # As a user copies it: myproject/factory/, checked by a project with no mypy configuration.
    shutil.copytree(ROOT / "app" / "factory", tmp_path / "myproject" / "factory")
    (tmp_path / "myproject" / "__init__.py").touch()
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "myproject/factory"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
