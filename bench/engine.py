"""Benchmark the rule engine against a plain-Python floor measured in the same run.

    python bench/engine.py [--repeat N] [--memory-evaluations N] [--profile]

Prints, per input: evaluations/s, median and p99 of the engine step (facts → matches), the
same for the plain-Python floor (bench/floor.py), the ratio, and the whole in-process
assessment (validation + facts + engine + findings + gate); then RSS after 1,000 and after N
evaluations; then, with --profile, where the time of a whole assessment goes.
"""

from __future__ import annotations

import argparse
import copy
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

from bench.floor import compile_floor, evaluate_floor  # noqa: E402
from riskengine.assessment.assessor import Assessor  # noqa: E402
from riskengine.assessment.facts import map_facts  # noqa: E402
from riskengine.vocabulary import Stage  # noqa: E402
from tests.shared import EXAMPLES  # noqa: E402


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def large_sales() -> dict[str, Any]:
    """A sales checklist with 330 list items, about a third of them risky."""
    checklist = _example("sales-risky")
    kinds = ["landfill", "substation", "highway", "railway", "cemetery", "gas_station", "factory"]
    checklist["offsite_factors"] = [
        {"kind": kinds[i % 7], "name": f"因素{i}", "distance_m": 150 + 37 * i,
         "planned": i % 5 == 0, "disclosed_publicly": i % 3 != 0,
         "in_contract_appendix": i % 4 != 0} for i in range(90)]
    checklist["onsite_factors"] = [
        {"kind": "transformer_room", "location": f"{i}#楼", "adjacent_to_homes": i % 2 == 0,
         "disclosed_publicly": i % 3 != 0} for i in range(60)]
    checklist["sales_materials"] = [
        {"id": f"M-{i}", "kind": "brochure", "crm_reviewed": i % 6 != 0,
         "changed_after_review": i % 7 == 0, "matches_approved_plan": i % 9 != 0,
         "promises_return": i == 13, "mentions": ["school"] if i % 4 == 0 else [],
         "disclaimer": i % 8 != 0} for i in range(90)]
    checklist["promises"] = [
        {"id": f"P-{i}", "kind": "shuttle_bus", "channel": "brochure", "in_contract": False,
         "agreement_signed": i % 3 != 0, "terms_disclosed": True, "funded": i % 5 != 0,
         "status": "planned", "due_date": "2028-06-30", "evidence": "合同"} for i in range(60)]
    checklist["planning_changes"] = [
        {"id": f"PC-{i}", "description": "变更", "major": i % 2 == 0,
         "buyers_notified": i % 3 != 0} for i in range(30)]
    return checklist


def large_delivery() -> dict[str, Any]:
    """A delivery checklist with 330 list items across promises, areas, defects, complaints."""
    checklist = _example("delivery-risky")
    checklist["promises"] = [
        {"id": f"P-{i}", "kind": "clubhouse", "channel": "brochure", "in_contract": i % 4 == 0,
         "agreement_signed": True, "terms_disclosed": True, "funded": True,
         "status": ["fulfilled", "at_risk", "in_progress"][i % 3], "due_date": "2027-06-30",
         "evidence": "验收记录" if i % 5 else ""} for i in range(100)]
    checklist["area_survey"] = [
        {"unit_type": f"T{i}", "contract_area_m2": 90.0 + i, "measured_area_m2": 90.0 + i * 1.02}
        for i in range(120)]
    defects = ["hollow_plaster", "crack", "leak", "electrical", "colour_difference"]
    checklist["inspections"] = [
        {"phase": phase, "done": True, "date": "2027-03-01", "units_inspected": 200,
         "defects": [{"kind": defects[j % 5], "found": 10 + j * 7, "rectified": 8 + j * 7}
                     for j in range(10)]} for phase in ("civil", "installation", "pre_delivery")]
    checklist["complaints"] = [{"topic": f"主题{i}", "open_count": i % 14} for i in range(80)]
    return checklist


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(min(50, repeat)):
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _figures(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{len(times) / sum(times):9.0f}/s  median {statistics.median(times) * 1000:6.3f} ms"
            f"  p99 {p99 * 1000:6.3f} ms")


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_inputs(assessor: Assessor, repeat: int) -> None:
    inputs = {"sales-ready": _example("sales-ready"), "sales-risky": _example("sales-risky"),
              "delivery-risky": _example("delivery-risky"), "large sales (330 items)":
              large_sales(), "large delivery (330 items)": large_delivery()}
    print(f"{'input':<28}{'step':<9}{'throughput / latency':<48}")
    for name, raw in inputs.items():
        checklist = assessor.validate(raw)
        stage = Stage(checklist["stage"])
        types = assessor.check_types[stage]
        facts = map_facts(checklist, types)
        rulesets = [r.id for r in assessor.catalog.for_stage(stage)]
        floor_tests = compile_floor(assessor.catalog, stage)
        engine_matches = {(m.key.rule_id, m.key.requirement, m.fact_id)
                          for m in assessor.engine.evaluate(rulesets, facts.by_type)
                          if not m.key.unknown}  # the floor is two-valued
        floor_matches = set(evaluate_floor(floor_tests, facts.by_type))
        assert engine_matches == floor_matches, (name, engine_matches ^ floor_matches)

        def engine_step(rulesets: list[str] = rulesets, checklist: dict[str, Any] = checklist,
                        types: dict[str, Any] = types) -> object:
            return assessor.engine.evaluate(rulesets, map_facts(checklist, types).by_type)

        def floor_step(tests: Any = floor_tests, checklist: dict[str, Any] = checklist,
                       types: dict[str, Any] = types) -> object:
            return evaluate_floor(tests, map_facts(checklist, types).by_type)

        engine_t = _times(engine_step, repeat)
        floor_t = _times(floor_step, repeat)
        whole_t = _times(lambda r=raw: assessor.assess(r), repeat)  # type: ignore[misc]
        ratio = statistics.median(engine_t) / statistics.median(floor_t)
        print(f"{name:<28}{'floor':<9}{_figures(floor_t)}")
        print(f"{'':<28}{'engine':<9}{_figures(engine_t)}   ratio {ratio:4.2f}x "
              f"({len(engine_matches)} matches, {sum(map(len, facts.by_type.values()))} facts)")
        print(f"{'':<28}{'whole':<9}{_figures(whole_t)}")


def run_memory(assessor: Assessor, total: int) -> None:
    inputs = [_example("sales-risky"), _example("delivery-risky"), _example("sales-ready")]
    inputs += [copy.deepcopy(large_sales())]
    for i in range(1000):
        assessor.assess(inputs[i % len(inputs)])
    after_thousand = _rss_mb()
    for i in range(total - 1000):
        assessor.assess(inputs[i % len(inputs)])
    after_all = _rss_mb()
    growth = (after_all - after_thousand) / after_thousand * 100
    print(f"RSS after 1,000 evaluations: {after_thousand:.1f} MB; after {total:,}: "
          f"{after_all:.1f} MB ({growth:+.1f} %; target within 10 %)")


def run_profile(assessor: Assessor) -> None:
    raw = large_sales()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(300):
        assessor.assess(raw)
    profile.disable()
    print("where a whole assessment of the large sales checklist spends its time (300 runs):")
    pstats.Stats(profile).sort_stats("tottime").print_stats(14)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1000)
    parser.add_argument("--memory-evaluations", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    assessor = Assessor.from_path()
    run_inputs(assessor, args.repeat)
    if args.memory_evaluations:
        run_memory(assessor, args.memory_evaluations)
    if args.profile:
        run_profile(assessor)


if __name__ == "__main__":
    main()
