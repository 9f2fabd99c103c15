#!/usr/bin/env python3
"""One-command set-up and tasks: each creates the virtualenv and installs what it needs.

    python3 dev.py demo     run main.py (the async factory demo)
    python3 dev.py test     the test suite on SQLite, then on PostgreSQL
    python3 dev.py lint     ruff and mypy
    python3 dev.py bench    the benchmark (arguments after `bench` go to it)

The virtualenv lives in .venv/<python version>/, one per interpreter, so the same checkout can
be tested with several Pythons (`python3.13 dev.py test`). PostgreSQL for the tests comes from
TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); it is skipped, loudly,
when it does not answer, except with CI=true, where that is a failure.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv" / f"py{sys.version_info[0]}.{sys.version_info[1]}"
PYTHON = VENV / "bin" / "python"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def ensure_venv(requirements: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"dev.py: Python 3.11+ is required (this is {sys.version.split()[0]})")
    req = ROOT / requirements
    files = [req, ROOT / "requirements.txt"]
    stamp_value = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == stamp_value:
        return
    if not PYTHON.exists():
        say(f"creating virtualenv {VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    say(f"installing {requirements} into {VENV.relative_to(ROOT)}")
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-r", str(req)], check=True)
    stamp.write_text(stamp_value)


def run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, env={**os.environ, **(env or {})}).returncode


def postgres_answers(url: str) -> str | None:
    """None when PostgreSQL at url accepts a connection, else the reason."""
    probe = "import psycopg, sys; psycopg.connect(sys.argv[1], connect_timeout=5).close()"
    result = subprocess.run([str(PYTHON), "-c", probe, url], capture_output=True, text=True)
    if result.returncode == 0:
        return None
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else "no answer"


def test(args: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    results: dict[str, str] = {}
    say("tests on SQLite")
    results["sqlite"] = "passed" if run("-m", "pytest", *args, env={"DATABASE_URL": ""}) == 0 else "FAILED"

    url = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    problem = postgres_answers(url)
    if problem is None:
        say("tests on PostgreSQL")
        ok = run("-m", "pytest", *args, env={"DATABASE_URL": url}) == 0
        results["postgresql"] = "passed" if ok else "FAILED"
    elif os.environ.get("CI") == "true":
        say(f"PostgreSQL does not answer ({problem}); with CI=true that is a failure. Set TEST_POSTGRES_URL.")
        results["postgresql"] = "FAILED (unreachable)"
    else:
        say(f"!!! PostgreSQL does not answer ({problem}): its tests are SKIPPED. Set TEST_POSTGRES_URL. !!!")
        results["postgresql"] = "skipped (unreachable)"
    say("summary: " + ", ".join(f"{name} {outcome}" for name, outcome in results.items()))
    return 1 if any("FAILED" in outcome for outcome in results.values()) else 0


def lint(args: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    codes = [
        run("-m", "ruff", "check", "."),
        run("-m", "ruff", "format", "--check", "."),
        run("-m", "mypy", "app", "tests/typing_checks.py", "main.py", "settings.py"),
    ]
    return max(codes)


def main() -> int:
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "demo":
        ensure_venv("requirements.txt")
        return run("main.py", *args)
    if command == "test":
        return test(args)
    if command == "lint":
        return lint(args)
    if command == "bench":
        ensure_venv("requirements-dev.txt")
        return run("-m", "benchmarks", *args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
