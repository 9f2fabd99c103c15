"""The benchmark runs: a tiny run of every section on SQLite in a subprocess; database URLs never print a password."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.databases import UnavailableError, mask_url, parse_url
from tests.servers import on_server, require_server

ROOT = Path(__file__).resolve().parent.parent
PASSWORDS = ("Zq9%ZZsecret", "s3cret-pw", "pa ss")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One tiny run on SQLite; PostgreSQL and MariaDB get URLs with passwords that cannot be used."""
    out = tmp_path_factory.mktemp("bench")
    command = [
        sys.executable,
        "-m",
        "benchmarks",
        "--n=20",
        "--per-object-n=4",
        "--rounds=1",
        "--auth-n=5",
        "--stalls",  # not run with --quick by default; tiny here
        "--stalls-n=200",
        "--postgres",
        "postgres://u:Zq9%ZZsecret@127.0.0.1/db",  # a bad %-escape
        "--mysql=mysql://root:s3cret-pw@127.0.0.1:1/db",  # nothing listens on port 1
        f"--json={out / 'bench.json'}",
        f"--markdown={out / 'bench.md'}",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, out


def test_every_variant_target_and_bound_is_printed(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    from benchmarks.report import TARGETS

    result, out = tiny_run
    text = result.stdout
    payload = json.loads((out / "bench.json").read_text())
    assert [b["backend"] for b in payload["backends"]] == ["sqlite"]
    variants = payload["backends"][0]["variants"]
    for model in ("User", "Friend"):
        rows = variants[model]
        assert len(rows) == 15
        for key, row in rows.items():
            assert row["label"] in text, key
            assert len(row["samples_us_per_object"]) == 1
            if key != "hop_alone":
                assert {"vs_reference", "vs_floor"} <= row.keys()
        for target in TARGETS:
            assert f"{target.label} ({model}):" in text
        assert f"  {model}: " in text and "the cheaper of the two by median" in text
    assert text.count(" ref") >= 2 and "floor" in text
    markdown = (out / "bench.md").read_text()
    assert markdown.startswith("# Benchmark results")
    assert "python -m benchmarks --n=20" in markdown and "Django" in markdown and "Faker" in markdown


def test_the_shortcut_auth_and_stall_sections_are_printed(
    tiny_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    from benchmarks import stalls
    from benchmarks.figures import TIMES

    result, out = tiny_run
    text = result.stdout
    backend = json.loads((out / "bench.json").read_text())["backends"][0]
    markdown = (out / "bench.md").read_text()

    shortcut = backend["shortcut"]
    assert shortcut["makes_one_row"] == {"shortcut": True, "transaction": False}
    assert shortcut["n"] == 4 and all(len(v) == 1 for v in shortcut["samples_us_per_create"].values())
    assert "One-row create() shortcut on sqlite: N=4" in text
    assert "worth: transaction / shortcut" in text and "µs saved per create()" in text

    auth = backend["auth"]
    assert set(auth["cases"]) == {"default", "given", "none"}
    for row in auth["cases"].values():
        assert row["pbkdf2_vs_md5"]["bound"] == 2.0 and {"met", "conclusive", "median"} <= row["pbkdf2_vs_md5"].keys()
        assert f"create_batch(5) with PBKDF2 ≤ 2.00{TIMES} with MD5 ({row['label']}):" in text
    assert auth["first_pbkdf2_call"]["ms"] > 0
    assert "Auth users on sqlite: await AuthUserFactory.create_batch(5)" in text
    assert "One-time cost on sqlite" in text and "once per process per distinct password" in text

    cases = backend["stalls"]["cases"]
    assert list(cases) == list(stalls.CASES) and backend["stalls"]["gc_state"]["frozen"] == 0
    for row in cases.values():
        assert len(row["repetitions"]) == stalls.REPEATS
        assert {"longest_gap_ms", "p99_gap_ms", "full_gcs", "longest_full_gc_ms"} <= row.keys()
        assert row["label"] in text
    assert cases["bulk/default"]["objects"] == 200 and cases["create/freeze"]["objects"] == 20
    assert "Event-loop stalls on sqlite" in text and "nothing frozen" in text and "gc.freeze()" in text

    for heading in (
        "### The one-row create() shortcut",
        "### Auth users and password hashing",
        "### Event-loop stalls",
    ):
        assert heading in markdown
    assert "| password=None |" in markdown and "| FriendFactory.bulk_create_batch(200) | gc.freeze() |" in markdown


def test_the_stall_section_runs_by_default_but_not_in_quick_mode() -> None:
    from benchmarks.__main__ import parse_args

    assert parse_args([]).stalls and not parse_args(["--quick"]).stalls
    assert parse_args(["--quick", "--stalls"]).stalls and not parse_args(["--no-stalls"]).stalls
    assert parse_args([]).stalls_n == 20_000 and parse_args([]).auth_n == 100


def test_percentile_is_the_nearest_rank() -> None:
    from benchmarks.stalls import percentile

    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0 and percentile(values, 1.0) == 100.0 and percentile([5.0], 0.99) == 5.0


def test_servers_that_cannot_be_used_are_skipped_without_their_password(
    tiny_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, out = tiny_run
    printed = result.stdout + result.stderr + (out / "bench.md").read_text() + (out / "bench.json").read_text()
    assert "PostgreSQL SKIPPED" in result.stdout and "MariaDB/MySQL SKIPPED" in result.stdout
    assert "postgres://u:***@127.0.0.1/db" in result.stdout
    assert "mysql://root:***@127.0.0.1:1/db" in printed
    for password in PASSWORDS:
        assert password not in printed


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgres://u:0@127.0.0.1:5432/db", "postgres://u:***@127.0.0.1:5432/db"),
        ("postgres://u:Zq9%ZZsecret@h/db", "postgres://u:***@h/db"),
        ("postgres://u:pa ss@h/db", "postgres://u:***@h/db"),
        ("postgres://u:p@ss/w@h/db", "postgres://u:***@h/db"),  # unescaped @ and / in the password
        ("postgres://u@h/db", "postgres://u@h/db"),
        ("postgres://h:5432/db", "postgres://h:5432/db"),
        ("--postgres=postgres://u:x@h/db", "--postgres=postgres://u:***@h/db"),
    ],
)
def test_mask_url_masks_the_password_field_only(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    "url", ["postgres://u:Zq9%ZZsecret@h/db", "postgres://u:pa ss@h/db", "postgres://u:secret@h:port/db"]
)
def test_malformed_urls_are_refused_without_their_password(url: str) -> None:
    with pytest.raises(UnavailableError) as error:
        parse_url("postgresql", url)
    assert "postgres://u:***@h" in str(error.value)
    assert "secret" not in str(error.value) and "pa ss" not in str(error.value)


@pytest.fixture(scope="module")
def server_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """One tiny run on PostgreSQL alone; its JSON's backend."""
    # The URL's database does not exist: the benchmark creates its own from the maintenance database.
    url = on_server("TEST_POSTGRES_URL", "asyncfactory_no_such_database")
    require_server("TEST_POSTGRES_URL")
    out = tmp_path_factory.mktemp("bench")
    command = [
        sys.executable, "-m", "benchmarks", "--backends=postgresql", f"--postgres={url}", "--n=10",
        "--per-object-n=2", "--rounds=1", "--auth-n=3", "--no-stalls", f"--json={out / 'bench.json'}",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    backends = json.loads((out / "bench.json").read_text())["backends"]
    assert [b["backend"] for b in backends] == ["postgresql"], result.stdout
    return result, backends[0]


def test_a_run_on_a_server_alone_measures_auth_users_there(
    server_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    # AuthUserFactory validates with full_clean(), whose unique checks go where the router reads
    # the user model: without the benchmark's router they went to the SQLite file, unmigrated here.
    assert server_run[1]["auth"]["cases"]["given"]["ms_per_call"]["pbkdf2"]["median"] > 0


def test_the_native_section_prints_its_targets_and_what_bounds_them(
    server_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    from benchmarks import native

    result, backend = server_run
    section = backend["native"]
    if sys.version_info < (3, 12):
        assert "Python 3.12+" in section["unavailable"]
        assert "Native engine on postgresql SKIPPED: django-async-backend needs Python 3.12+" in result.stdout
        return
    for model in native.MODELS:
        row = section["models"][model]
        assert set(row["us_per_object"]) == set(native.LABELS)
        assert [t["label"] for t in row["targets"]] == [t[0] for t in native.TARGETS]
        assert [b["label"] for b in row["bounds"]] == [b[0] for b in native.BOUNDS]
        for label, *_ in native.BOUNDS:
            assert f"why: {label} ({model}): " in result.stdout
    for key, label in native.ROUND_TRIPS.items():
        assert section["round_trips"][key]["median"] > 0
        assert f"a query's round trip: {label}: " in result.stdout


def test_the_bound_is_against_the_cheaper_loop_by_median_not_the_lower_sample_of_each_round() -> None:
    from benchmarks.measure import BackendResult
    from benchmarks.report import ONE_HOP_SLACK, VARIANTS, summarize

    # Both loops cost 1.1 but swap their noise each round; create() costs 1.1 every round.
    noisy = {"django_acreate_loop": [1.0, 1.2] * 4 + [1.1], "fb_create_behind_hop": [1.2, 1.0] * 4 + [1.1]}
    result = BackendResult("sqlite", "test", "SQLite", n=10, per_object_n=1, rounds=9)
    result.samples = {model: {v.key: noisy.get(v.key, [1.1] * 9) for v in VARIANTS} for model in ("User", "Friend")}

    bound = summarize(result)["bound"][0]

    # Against the lower sample of each round, it would be 1.1 / 1.0 in every round: 1.10.
    assert bound["cheaper"] == "django_acreate_loop"
    assert bound["vs_cheaper"]["median"] == pytest.approx(1.0)
    assert bound["at_one_hop_floor"] and bound["vs_cheaper"]["median"] < ONE_HOP_SLACK
