"""Time the project's suite: rollback isolation against every ``django_db`` test ``transaction=True``.

    .venv/py3.11/bin/python tests/asyncproject/measure.py [--runs 3] [DATABASE_URL ...]

With no URL: SQLite (in-memory test database) and postgres://postgres@127.0.0.1:5432/test. Each
run copies the project as tests/test_async_setups.py does and runs its marked, unmarked and sync
files in pytest-asyncio's strict mode with the plugin; the other column loads
``myproject.pytest_all_transactional``, which marks every ``django_db`` test ``transaction=True``.
The few tests that check rollback-only facts (the open atomic block, savepoint query counts) are
deselected in both. Prints the median of the runs: pytest's own time and the wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_async_setups import (  # noqa: E402 - after the path is set
    LEGACY,
    MARKED,
    MODULE_LOOP,
    STRICT,
    SYNC,
    UNMARKED,
    make_project,
    run_pytest,
)

FILES = [SYNC, MARKED, MODULE_LOOP, LEGACY, UNMARKED]
DESELECT = ("-k", "not rolled_back and not num_queries")
MODES = {
    "rollback isolation": (),
    "every test transaction=True": ("-p", "myproject.pytest_all_transactional"),
}
DEFAULT_URLS = ["", "postgres://postgres@127.0.0.1:5432/test"]


def measure(url: str, mode: tuple[str, ...], runs: int) -> tuple[float, float, str]:
    os.environ["DATABASE_URL"] = url
    pytest_times, wall_times, summary = [], [], ""
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="asyncproject-measure-") as tmp:
            project = make_project(Path(tmp))
            started = time.perf_counter()
            run = run_pytest(project, *STRICT, *DESELECT, *mode, *FILES)
            wall_times.append(time.perf_counter() - started)
        outcomes = [outcome for outcome, _ in run.cases.values()]
        if run.returncode != 0 or any(outcome != "passed" for outcome in outcomes):
            sys.exit(f"measure.py: the suite failed ({url or 'sqlite'}, {mode}):\n{run.tail()}")
        reported = re.findall(r" in (\d+\.\d+)s", run.output)
        pytest_times.append(float(reported[-1]))
        summary = f"{len(outcomes)} tests"
    return statistics.median(pytest_times), statistics.median(wall_times), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("urls", nargs="*", default=DEFAULT_URLS)
    args = parser.parse_args()
    print(f"median of {args.runs} runs each; pytest's time (wall time of the subprocess)")
    print("| backend | tests | " + " | ".join(MODES) + " |")
    print("| --- | --- |" + " --- |" * len(MODES))
    for url in args.urls:
        cells, summary = [], ""
        for mode in MODES.values():
            pytest_time, wall_time, summary = measure(url, mode, args.runs)
            cells.append(f"{pytest_time:.2f} s ({wall_time:.2f} s)")
        backend = url.split(":", 1)[0] if url else "sqlite"
        print(f"| {backend} | {summary} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
