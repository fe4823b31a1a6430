"""Benchmark an assessment step by step against a straight-line Python floor, in one run.

    python bench/engine.py [--repeat N] [--memory-evaluations N] [--profile] [--json] [--smoke]

For the contract examples and two 330-item checklists it measures the CPU time of each call
(`time.thread_time`: what this thread ran, not what the machine's other work cost it), the
steps interleaved call by call so a burst of load hits them all alike, and prints the median
(and p90) of N of each:

- validation (raw JSON → typed checklist);
- facts (checklist → engine facts);
- engine step (facts → matches, durable_rules), on the facts built once;
- floor: the same rules generated as straight-line Python (bench/floor.py: one loop per fact
  type, one inline test per rule), on the same facts;
- findings (matches → findings), and answer: findings built and each turned into the
  contract's object in one language (`Finding.to_dict`, texts rendered then);
- the whole in-process assessment (validation + facts + engine + findings + gate).

Before timing, it checks the floor finds exactly the matches the engine finds on each input and
stops (exit status 2) when they differ; rules the generator cannot express are listed by id
and left out of both sides of that comparison. Then RSS after 1,000 and after N evaluations,
and with --profile where a whole large assessment's CPU goes. `--json` prints one JSON
summary instead of the tables; `--smoke` is a few-second run for the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floor import Floor, MatchKey, generate  # noqa: E402
from bench.inputs import inputs  # noqa: E402
from riskengine.assessment.assessor import Assessor  # noqa: E402
from riskengine.assessment.findings import FindingBuilder  # noqa: E402
from riskengine.vocabulary import Lang, Stage  # noqa: E402

STEPS = ("validation", "facts", "engine", "floor", "findings", "answer", "whole")


class FloorMismatch(SystemExit):
    """The floor and the engine disagree: the ratio would compare different work."""


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": statistics.median(ordered) * 1000,
            "p90_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000}


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def check_floor(name: str, engine: set[MatchKey], floor: set[MatchKey],
                skipped: set[str]) -> None:
    """Raise FloorMismatch when the two sides found different matches (skipped rules aside)."""
    engine = {m for m in engine if m[0] not in skipped}
    if engine != floor:
        only_engine, only_floor = sorted(engine - floor)[:10], sorted(floor - engine)[:10]
        raise FloorMismatch(f"floor and engine disagree on {name}: engine only {only_engine}, "
                            f"floor only {only_floor}")


def measure_input(assessor: Assessor, floors: dict[Stage, Floor], name: str,
                  raw: dict[str, Any], repeat: int) -> dict[str, Any]:
    checklist = assessor.validate(raw)
    stage = Stage(checklist["stage"])
    floor = floors[stage]
    facts = assessor.facts(checklist)
    matches = assessor.evaluate(stage, facts)
    # The floor is two-valued: it is held to the engine on what a rule decides (holds, or a
    # listed required fact is absent); the unknown-operand and closed-set companions, which
    # the engine adds for fail-closed, are its own work and left out of the comparison.
    engine_keys = {(m.key.rule_id, m.key.requirement, m.fact_id) for m in matches
                   if not m.key.unknown and not m.key.closed}
    floor_keys = set(floor.run(facts.by_type))
    check_floor(name, engine_keys, floor_keys, set(floor.unsupported))
    findings = FindingBuilder(assessor.catalog, checklist, facts, assessor.parts).build(matches)
    steps: dict[str, Callable[[], object]] = {
        "validation": lambda: assessor.validate(raw),
        "facts": lambda: assessor.facts(checklist),
        "engine": lambda: assessor.evaluate(stage, facts),
        "floor": lambda: floor.run(facts.by_type),
        "findings": lambda: FindingBuilder(assessor.catalog, checklist, facts,
                                           assessor.parts).build(matches),
        # what an answer needs of them: built, then each as the contract's object in one
        # language (texts rendered on first use, only in the language asked for)
        "answer": lambda: [f.to_dict(Lang.ZH) for f in FindingBuilder(
            assessor.catalog, checklist, facts, assessor.parts).build(matches)],
        "whole": lambda: assessor.assess(raw),
    }
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    clock = time.thread_time
    for round_ in range(repeat + min(20, repeat)):  # the first rounds warm up, untimed
        for step in STEPS:
            call = steps[step]
            started = clock()
            call()
            if round_ >= min(20, repeat):
                times[step].append(clock() - started)
    figures = {step: _summary(times[step]) for step in STEPS}
    whole = figures["whole"]["median_ms"]
    return {
        "stage": stage.value, "items": sum(len(v) for v in raw.values() if isinstance(v, list)),
        "facts": sum(map(len, facts.by_type.values())), "matches": len(engine_keys),
        "findings": len(findings), "floor_matched": True, "calls": repeat, "ms": figures,
        "engine_over_floor": figures["engine"]["median_ms"] / figures["floor"]["median_ms"],
        "us_per_finding": {step: 1000 * figures[step]["median_ms"] / max(1, len(findings))
                           for step in ("findings", "answer")},
        # medians of the unprofiled calls: the profile below inflates Python-heavy steps
        "share_of_whole_percent": {step: 100 * figures[step]["median_ms"] / whole
                                   for step in ("validation", "facts", "engine", "findings")},
    }


def run_memory(assessor: Assessor, total: int) -> dict[str, float]:
    named = inputs()
    cycle = [named["sales-risky"], named["delivery-risky"], named["sales-ready"],
             named["large-sales"]]
    first = min(1000, total)
    for i in range(first):
        assessor.assess(cycle[i % len(cycle)])
    after_first = _rss_mb()
    for i in range(total - first):
        assessor.assess(cycle[i % len(cycle)])
    after_all = _rss_mb()
    return {"evaluations": total, "rss_mb_after_1000": after_first, "rss_mb_after_all": after_all,
            "growth_percent": (after_all - after_first) / after_first * 100}


# What the profile is cut into: (share, how a function of the profile is recognised).
_PROFILE_PARTS: dict[str, Callable[[tuple[str, int, str]], bool]] = {
    "validation": lambda k: k[0].endswith("checklist/validation.py") and k[2] == "validate",
    "facts": lambda k: k[0].endswith("assessment/facts.py") and k[2] == "map_facts",
    "engine": lambda k: k[0].endswith("rules/engine.py") and k[2] == "evaluate",
    "engine: durable assert_facts": lambda k: "assert_facts" in k[2],
    "engine: encoding the facts (orjson)": lambda k: "orjson.dumps" in k[2],
    "findings": lambda k: k[0].endswith("assessment/findings.py") and k[2] == "build",
    "gate": lambda k: k[0].endswith("assessment/gate.py") and k[2] == "decide_gate",
}


def run_profile(assessor: Assessor, runs: int, show: bool) -> dict[str, float]:
    raw = inputs()["large-sales"]
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    for _ in range(runs):
        assessor.assess(raw)
    profile.disable()
    stats = pstats.Stats(profile)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    whole = sum(v[3] for k, v in table.items()
                if k[0].endswith("assessment/assessor.py") and k[2] == "assess")
    shares = {part: 100 * sum(v[3] for k, v in table.items() if recognise(k)) / whole
              for part, recognise in _PROFILE_PARTS.items()} if whole else {}
    if show:
        print(f"\nwhere a whole assessment of large-sales spends its CPU ({runs} runs, cProfile "
              "on thread time; the profiler's own cost inflates Python-heavy parts):")
        for part, share in shares.items():
            print(f"  {part:<32} {share:5.1f} %")
        stats.sort_stats("tottime").print_stats(12)
    return shares


def print_table(results: dict[str, dict[str, Any]], floors: dict[Stage, Floor]) -> None:
    print(f"CPU per call (thread time), median of N interleaved calls; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (a shared machine: the ratios, "
          "measured together, hold better than the absolute times)")
    head = "".join(f"{step:>12}" for step in STEPS)
    print(f"{'input':<16}{'facts':>6}{'finds':>6}{head}{'engine/floor':>14}")
    for name, r in results.items():
        cells = "".join(f"{r['ms'][step]['median_ms']:>9.3f} ms" for step in STEPS)
        print(f"{name:<16}{r['facts']:>6}{r['findings']:>6}{cells}"
              f"{r['engine_over_floor']:>13.1f}x")
    print("share of the whole assessment's median (unprofiled):")
    for name, r in results.items():
        print(f"  {name:<16}" + ", ".join(f"{step} {share:.0f} %" for step, share in
                                          r["share_of_whole_percent"].items()))
    for stage, floor in floors.items():
        print(f"floor {stage.value}: {floor.rules} rules, {floor.tests} inline tests; matched "
              "the engine on every input" + (
                  f"; CANNOT EXPRESS {len(floor.unsupported)} rule(s), left out of the "
                  f"comparison: {floor.unsupported}" if floor.unsupported else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=500, help="timed calls per step and input")
    parser.add_argument("--memory-evaluations", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-runs", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for the tests")
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.memory_evaluations, args.profile, args.profile_runs = 5, 20, True, 3
    assessor = Assessor.from_path()
    floors = {stage: generate(assessor.catalog, stage) for stage in Stage}
    try:
        results = {name: measure_input(assessor, floors, name, raw, args.repeat)
                   for name, raw in inputs().items()}
    except FloorMismatch as mismatch:
        print(f"bench/engine.py: {mismatch.code}", file=sys.stderr)
        return 2
    if not args.json:
        print_table(results, floors)
    memory = run_memory(assessor, args.memory_evaluations) if args.memory_evaluations else {}
    if memory and not args.json:
        print(f"RSS after {min(1000, memory['evaluations']):,} evaluations "
              f"{memory['rss_mb_after_1000']:.1f} MB; after "
              f"{memory['evaluations']:,}: {memory['rss_mb_after_all']:.1f} MB "
              f"({memory['growth_percent']:+.1f} %; target within 10 %)")
    profile = run_profile(assessor, args.profile_runs, not args.json) if args.profile else {}
    if args.json:
        print(json.dumps({
            "load_average": os.getloadavg()[0], "cpus": os.cpu_count(), "inputs": results,
            "floor": {s.value: {"rules": f.rules, "tests": f.tests,
                                "unsupported": f.unsupported} for s, f in floors.items()},
            "memory": memory, "profile_percent": profile}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
