"""Reporting: the plain-text tables, the targets and the bound, and the JSON and Markdown files.

Every figure is computed once, by ``summarize``, from the samples of ``measure``; the three outputs
render that summary. Ratios are medians of per-round ratios (each round's variant against the same
round's baseline), with their min-max range.
"""

from __future__ import annotations

import datetime
import json
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from . import auth, native, shortcut, stalls
from .figures import DASH, EM_DASH, TIMES, cell, cpu_model, spread_dict
from .measure import BackendResult
from .variants import BY_KEY, MODELS, VARIANTS, references

ONE_HOP_SLACK = 1.10  # N x await create() is "at the one-hop floor" within 10% of the cheaper one-hop loop


@dataclass(frozen=True)
class Target:
    label: str
    variant: str
    against: str
    bound: float  # met when the median per-round ratio variant/against is <= bound (< bound when strict)
    strict: bool = False

    def met(self, ratio: float) -> bool:
        return ratio < self.bound if self.strict else ratio <= self.bound


TARGETS = (
    Target(f"build_batch ≤ 0.90{TIMES} factory_boy build_batch", "build_batch", "fb_build_batch", 0.90),
    Target(f"bulk_create_batch ≤ 1.20{TIMES} abulk_create floor", "bulk_create_batch", "django_abulk_create", 1.20),
    Target(
        "bulk_create_batch faster than model_bakery _bulk_create",
        "bulk_create_batch",
        "bakery_bulk_create",
        1.0,
        strict=True,
    ),
    Target(
        f"create_batch ≤ 1.05{TIMES} factory_boy create_batch in atomic()",
        "create_batch",
        "fb_create_batch_atomic",
        1.05,
    ),
    Target(f"create_batch ≤ 1.50{TIMES} abulk_create floor", "create_batch", "django_abulk_create", 1.50),
    Target("create_batch no slower than one by one", "create_batch", "create_batch_one_by_one", 1.0),
    Target(
        f"create_batch one by one ≤ 1.05{TIMES} factory_boy create_batch in atomic()",
        "create_batch_one_by_one",
        "fb_create_batch_atomic",
        1.05,
    ),
)
BOUND = ("create_loop", ("django_acreate_loop", "fb_create_behind_hop"))
# JSON key: the module rendering it
SECTIONS: dict[str, Any] = {"shortcut": shortcut, "auth": auth, "native": native, "stalls": stalls}


def ratio_dict(result: BackendResult, model: str, key: str, against: str) -> dict[str, Any]:
    """The median and range of the per-round ratios, and the ratio of the medians."""
    of_medians = result.spread(model, key).median / result.spread(model, against).median
    return {"against": against, **spread_dict(result.ratio(model, key, against)), "of_medians": of_medians}


def summarize(result: BackendResult) -> dict[str, Any]:
    """Every figure of one database: per-variant spreads and ratios, the targets, the bound."""
    variants: dict[str, dict[str, Any]] = {}
    for model in MODELS:
        rows: dict[str, Any] = {}
        for variant in VARIANTS:
            row: dict[str, Any] = {
                "label": variant.label,
                "n": result.n_for(variant),
                "us_per_object": spread_dict(result.spread(model, variant.key)),
                "samples_us_per_object": result.samples[model][variant.key],
            }
            refs = references(variant)
            if refs is not None:
                row["vs_reference"] = ratio_dict(result, model, variant.key, refs[0])
                row["vs_floor"] = ratio_dict(result, model, variant.key, refs[1])
            rows[variant.key] = row
        variants[model] = rows
    targets = []
    for target in TARGETS:
        for model in MODELS:
            ratio = ratio_dict(result, model, target.variant, target.against)
            met = target.met(ratio["median"])
            # Not conclusive when some rounds met it and others did not.
            conclusive = target.met(ratio["max"]) if met else not target.met(ratio["min"])
            targets.append({"target": target.label, "model": model, "met": met, "conclusive": conclusive, **ratio})
    bound = []
    loop, against = BOUND
    for model in MODELS:
        # Against the loop with the lower median, round by round. Not against the lower of the two in
        # each round: the minimum of two noisy samples is biased low, so a loop costing exactly what
        # both cost would come out above 1.
        cheaper_key = min(against, key=lambda key: result.spread(model, key).median)
        cheaper = result.ratio(model, loop, cheaper_key)
        bound.append(
            {
                "model": model,
                "at_one_hop_floor": cheaper.median <= ONE_HOP_SLACK,
                "cheaper": cheaper_key,
                "vs_cheaper": spread_dict(cheaper),
                **{key: ratio_dict(result, model, loop, key) for key in against},
            }
        )
    return {
        "backend": result.backend,
        "description": result.description,
        "server": result.server,
        "n": result.n,
        "per_object_n": result.per_object_n,
        "rounds": result.rounds,
        "variants": variants,
        "targets": targets,
        "bound": bound,
        **result.sections,  # "shortcut", "auth", "stalls" (each when measured)
    }


# --- the environment -----------------------------------------------------------------------------


def environment(servers: list[str]) -> dict[str, str]:
    import os

    packages = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("Django", "factory_boy", "Faker", "model-bakery", "asgiref")
    )
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": f"Python {platform.python_version()} ({sys.implementation.name})",
        "packages": packages,
        "servers": ", ".join(servers),
    }


# --- plain text and Markdown -----------------------------------------------------------------------


def legend(summary: dict[str, Any]) -> list[str]:
    return [
        f"n={summary['n']:,} objects per call ({summary['per_object_n']:,} for the variants that pay a call or a "
        f"commit per object), {summary['rounds']} round(s). µs per object: median [min{DASH}max] over the rounds.",
        f"Ratios: median [min{DASH}max] of the per-round ratios against ref: factory_boy create_batch inside one "
        "atomic() (the strongest",
        "factory_boy baseline), factory_boy build_batch for builds; and against floor: abulk_create with the same "
        "Faker values in one",
        "hop and one atomic(), Faker alone for builds. * = app.factory.",
    ]


def verdicts(summary: dict[str, Any], brackets: str = "[]") -> tuple[list[str], list[str]]:
    """The targets' lines and the bound's lines."""
    targets = [
        f"{'met   ' if t['met'] else 'MISSED'} {t['target']} ({t['model']}): {cell(t, 2, TIMES, brackets)}"
        + ("" if t["conclusive"] else "; not every round agrees")
        for t in summary["targets"]
    ]
    bound = [
        f"{b['model']}: {cell(b['django_acreate_loop'], 2, TIMES, brackets)} the acreate() loop, "
        f"{cell(b['fb_create_behind_hop'], 2, TIMES, brackets)} factory_boy create() behind one hop; "
        f"{cell(b['vs_cheaper'], 2, TIMES, brackets)} the cheaper of the two by median: "
        f"{'at the one-hop floor' if b['at_one_hop_floor'] else 'ABOVE the one-hop floor'}"
        for b in summary["bound"]
    ]
    return targets, bound


def text_backend(summary: dict[str, Any]) -> list[str]:
    lines = ["", f"== {summary['backend']}: {summary['description']}; {summary['server']} ==", *legend(summary)]
    for model in MODELS:
        lines.append(f"{model:<52}{'n':>6}{f'µs/object [min{DASH}max]':>24}{f'{TIMES} ref':>20}{f'{TIMES} floor':>20}")
        for key, row in summary["variants"][model].items():
            ratios = "".join(f"{cell(row[r], 2) if r in row else EM_DASH:>20}" for r in ("vs_reference", "vs_floor"))
            mark = "*" if BY_KEY[key].ours else " "
            lines.append(f"{mark} {row['label']:<50}{row['n']:>6}{cell(row['us_per_object']):>24}{ratios}")
    targets, bound = verdicts(summary)
    lines.append(f"Targets on {summary['backend']} (median [min{DASH}max] of the per-round ratios):")
    lines += [f"  {line}" for line in targets]
    lines.append(
        f"Bound on {summary['backend']}: N {TIMES} await create() against the loops of one hop per call "
        f"(at the floor: within {ONE_HOP_SLACK:.2f}{TIMES} of the cheaper):"
    )
    lines += [f"  {line}" for line in bound]
    for key, section in SECTIONS.items():
        if key in summary:
            lines += section.text(summary["backend"], summary[key])
    return lines


def text_report(summaries: list[dict[str, Any]], skipped: dict[str, str]) -> str:
    lines = []
    for summary in summaries:
        lines += text_backend(summary)
    for backend, reason in skipped.items():
        lines.append(f"!!! {backend} SKIPPED: {reason} !!!")
    return "\n".join(lines)


def markdown(payload: dict[str, Any]) -> str:
    env = payload["environment"]
    out = [
        "# Benchmark results",
        "",
        f"Generated by `{payload['command']}` ({payload['mode']}), {env['date']}. Do not edit by hand: "
        "run the command again.",
        "",
        f"- Machine: {env['machine']}; {env['load']}",
        f"- {env['python']}; {env['packages']}",
        f"- Database servers: {env['servers']}",
        f"- Method: {payload['rounds']} round(s); every variant runs once per round, in an order shuffled per round "
        f"(seed {payload['seed']}), from empty tables, with the same Faker values, after `gc.collect()`. "
        f"n={payload['n']:,} objects per call; {payload['per_object_n']:,} for the variants that pay a call or a "
        "commit per object (their cost per object does not depend on n). A `Friend` is three rows: its two "
        "`User`s and itself.",
        f"- µs per object: median (min{DASH}max) over the rounds. Ratios: median (min{DASH}max) of the per-round "
        "ratios. **ref**: factory_boy `create_batch` inside one `transaction.atomic()` (the strongest factory_boy "
        "baseline) for the variants that save, factory_boy `build_batch` for builds. **floor**: Django's "
        "`abulk_create` with the same Faker values, in one hop and one transaction (for `Friend`, both of its "
        "inserts), for the variants that save; Faker alone for builds. "
        "Bold: app.factory.",
    ]
    out += [f"- **{backend} skipped**: {reason}" for backend, reason in payload["skipped"].items()]
    for summary in payload["backends"]:
        out += ["", f"## {summary['server']}", "", f"{summary['description']}."]
        for model in MODELS:
            out += ["", f"| {model} | n | µs/object | {TIMES} ref | {TIMES} floor |", "|---|---:|---:|---:|---:|"]
            for key, row in summary["variants"][model].items():
                label = f"**{row['label']}**" if BY_KEY[key].ours else row["label"]
                ratios = " | ".join(
                    cell(row[r], 2, TIMES, "()") if r in row else EM_DASH for r in ("vs_reference", "vs_floor")
                )
                out.append(f"| {label} | {row['n']:,} | {cell(row['us_per_object'], brackets='()')} | {ratios} |")
        targets, bound = verdicts(summary, "()")
        out += ["", f"Targets (median (min{DASH}max) of the per-round ratios):", ""]
        out += [f"- {' '.join(line.split())}" for line in targets]  # without the text's alignment
        out += [
            "",
            f"Bound, `N {TIMES} await create()` (at the floor: within {ONE_HOP_SLACK:.2f}{TIMES} of the cheaper):",
            "",
        ]
        out += [f"- {line}" for line in bound]
        for key, section in SECTIONS.items():
            if key in summary:
                out += section.markdown(summary["backend"], summary[key])
    return "\n".join(out) + "\n"


def write_json(path: str, payload: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def write_markdown(path: str, payload: dict[str, Any]) -> None:
    Path(path).write_text(markdown(payload))
