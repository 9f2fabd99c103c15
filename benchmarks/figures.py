"""How a figure is written: ``median [min-max]`` cells, the same as JSON, a bound met or missed, and
the machine it was measured on."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from .measure import Spread

DASH = "\N{EN DASH}"
EM_DASH = "\N{EM DASH}"
TIMES = "\N{MULTIPLICATION SIGN}"


def spread_dict(spread: Spread) -> dict[str, float]:
    return {"median": spread.median, "min": spread.low, "max": spread.high}


def cell(spread: dict[str, float], digits: int | None = None, unit: str = "", brackets: str = "[]") -> str:
    """``median [min-max]``; with ``digits=None`` (µs), one decimal below 100 and none above."""
    places = (1 if spread["median"] < 100 else 0) if digits is None else digits
    low, high = spread["min"], spread["max"]
    return f"{spread['median']:.{places}f}{unit} {brackets[0]}{low:.{places}f}{DASH}{high:.{places}f}{brackets[1]}"


def verdict(ratio: dict[str, Any], bound: float) -> dict[str, bool]:
    """Whether the median per-round ratio is ``<= bound``, and whether every round agrees (conclusive)."""
    met = ratio["median"] <= bound
    return {"met": met, "conclusive": ratio["max"] <= bound if met else ratio["min"] > bound}


def met_line(row: dict[str, Any], what: str, brackets: str = "[]") -> str:
    """``met    what: 1.02x [0.95-1.10]``, or ``MISSED ...``, and whether every round agrees."""
    agrees = "" if row["conclusive"] else "; not every round agrees"
    return f"{'met   ' if row['met'] else 'MISSED'} {what}: {cell(row, 2, TIMES, brackets)}{agrees}"


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
