"""The project as a user runs it: manage.py migrate/makemigrations and main.py, in subprocesses."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """Run a project script with the project's own settings (not the test settings)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_NAME")}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrate_on_a_fresh_sqlite_file_then_no_model_change_is_pending(tmp_path: Path):
    db = tmp_path / "fresh.sqlite3"
    url = f"sqlite:///{db}"

    migrated = run("manage.py", "migrate", "--no-input", database_url=url)
    check = run("manage.py", "makemigrations", "--check", "--dry-run", database_url=url)

    assert migrated.returncode == 0, migrated.stderr
    assert {"app_user", "app_profile", "app_friend", "auth_user", "django_migrations"} <= tables(db)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No changes detected" in check.stdout


def test_main_runs_twice_on_a_sqlite_file_and_only_adds_rows(tmp_path: Path):
    db = tmp_path / "demo.sqlite3"
    url = f"sqlite:///{db}"

    first = run("main.py", database_url=url)

    assert first.returncode == 0, first.stderr
    assert "Applying" in first.stdout
    assert "pending migration" in first.stdout
    assert "sqlite" in first.stdout
    assert str(db) in first.stdout
    assert "Done" in first.stdout

    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO app_user (name) VALUES ('Pre-existing')")
        sentinel_id = conn.execute("SELECT id FROM app_user WHERE name = 'Pre-existing'").fetchone()[0]
        users_before = conn.execute("SELECT COUNT(*) FROM app_user").fetchone()[0]
        friends_before = conn.execute("SELECT COUNT(*) FROM app_friend").fetchone()[0]
    conn.close()

    second = run("main.py", database_url=url)

    assert second.returncode == 0, second.stderr
    assert "Applying" not in second.stdout
    assert "up to date" in second.stdout
    assert "sqlite" in second.stdout
    assert str(db) in second.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM app_user WHERE id = ?", (sentinel_id,)).fetchone() == ("Pre-existing",)
        assert conn.execute("SELECT COUNT(*) FROM app_user").fetchone()[0] > users_before
        assert conn.execute("SELECT COUNT(*) FROM app_friend").fetchone()[0] == friends_before + 10
    conn.close()


def test_main_with_an_unreachable_database_fails_in_one_line_without_the_password():
    done = run("main.py", database_url="postgres://user:secret@127.0.0.1:1/x")

    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "secret" not in done.stderr
    assert "secret" not in done.stdout
    assert "Traceback" not in done.stderr
