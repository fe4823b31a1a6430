"""Every trap of the durable_rules field notes, reproduced against riskengine.rules.engine."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import durable_rules_engine
import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.checklist.contract import LISTS
from riskengine.checklist.validation import MAX_ITEMS, MAX_NESTED
from riskengine.errors import EvaluationError
from riskengine.rules.compiler import END, SENTINEL_KEY, CompiledRuleset, RuleKey
from riskengine.rules.engine import Engine, check_collisions, fnv1a32

Base = Callable[[str], dict[str, Any]]
# Found by a birthday search over positional ids; both hash to the same 32-bit FNV-1a value.
HASH_TWINS = ("offsite_factors:544199", "offsite_factors:1927764")
LANDFILL = {"kind": "landfill", "name": "金口垃圾场", "distance_m": 400, "planned": False,
            "disclosed_publicly": False, "in_contract_appendix": False}


def _fingerprints(assessor: Assessor, checklist: dict[str, Any]) -> list[str]:
    return [f.fingerprint for f in assessor.assess(checklist).findings]


def test_no_background_threads_are_started(assessor: Assessor, base: Base) -> None:
    # durable's Host runs 0.2 s loops whose out-of-order delete_state segfaults (trap 1)
    before = threading.active_count()
    Engine([])
    assessor.assess(base("sales"))
    assert threading.active_count() == before


def test_facts_that_match_nothing_do_not_hide_findings(assessor: Assessor, base: Base) -> None:
    # the public batch call raised MessageNotHandled and returned 0 findings (trap 2)
    checklist = base("sales")
    checklist["offsite_factors"] = [LANDFILL]
    findings = assessor.assess(checklist).findings
    assert any(f.subject == "offsite_factors[0]" for f in findings)
    assert len(checklist["permits"]) > 0  # those facts matched no rule


def test_many_evaluations_without_findings_run_cleanly(assessor: Assessor, base: Base) -> None:
    # delete_state on a sid where no action ran freed an uninitialised pointer (trap 3)
    clean = base("sales")
    for _ in range(300):
        assert assessor.assess(clean).findings == ()


def test_identical_items_are_both_evaluated(assessor: Assessor, base: Base) -> None:
    # identical facts were silently de-duplicated (trap 4)
    checklist = base("sales")
    checklist["offsite_factors"] = [LANDFILL]
    # validation names such twins (duplicates); the engine must still keep identical facts
    valid = assessor.validate(checklist)
    valid["offsite_factors"].append(copy.deepcopy(valid["offsite_factors"][0]))
    subjects = {f.subject for f in assessor.assess_valid(valid).findings if f.rule_id ==
                "SALES-OFFSITE-001"}
    assert subjects == {"offsite_factors[0]", "offsite_factors[1]"}


def test_our_hash_is_durables_hash() -> None:
    # two ids with one FNV-1a hash are one fact to durable (trap 5): prove it, then refuse them
    assert fnv1a32(HASH_TWINS[0]) == fnv1a32(HASH_TWINS[1])
    definition = '{"r": {"all": [{"m": {"t": "x"}}]}, "e": {"all": [{"m": {"t": "end"}}]}}'
    handle = durable_rules_engine.create_ruleset("hash-twins-probe", definition)
    facts = (f'[{{"sid": "h", "id": "{HASH_TWINS[0]}", "t": "x", "n": 1}},'
             f'{{"sid": "h", "id": "{HASH_TWINS[1]}", "t": "x", "n": 2}},'
             '{"sid": "h", "id": "end", "t": "end"}]')
    _, state = durable_rules_engine.assert_facts(handle, facts)
    fired = [durable_rules_engine.start_action_for_state(handle, state)[1]]
    while message := durable_rules_engine.complete_and_start_action(handle, state):
        fired.append(message)
    durable_rules_engine.delete_state(handle, "h")
    assert sum('"t": "x"' in m for m in fired) == 1  # the twin was dropped
    with pytest.raises(EvaluationError, match="冲突") as caught:
        check_collisions(HASH_TWINS)
    assert "collide" in caught.value.in_lang("en")[0]


def test_no_checklist_the_contract_accepts_can_have_colliding_ids() -> None:
    ids = [f"{name}:{i}" for name, spec in LISTS.items()
           for i in range(MAX_NESTED if spec.nested else MAX_ITEMS)]
    ids += [f"defects:{i}:{j}" for i in range(MAX_NESTED) for j in range(MAX_NESTED)]
    ids += ["checklist", "__end__"]
    check_collisions(ids)
    assert len({fnv1a32(i) for i in ids}) == len(ids)


def test_state_is_deleted_after_every_evaluation(assessor: Assessor, base: Base) -> None:
    # nothing may stay in the engine between checklists (traps 7 and 11)
    checklist = base("sales")
    checklist["offsite_factors"] = [LANDFILL]
    assessor.assess(checklist)
    for handle in assessor.engine._handles.values():
        for sid in assessor.engine.live_sids():
            with pytest.raises(Exception, match="309|not found|error"):
                durable_rules_engine.get_state(handle.handle, sid)


def test_evaluations_are_isolated(assessor: Assessor, base: Base) -> None:
    risky = base("sales")
    risky["offsite_factors"] = [LANDFILL]
    clean = base("sales")
    alone = _fingerprints(assessor, clean)
    _fingerprints(assessor, risky)
    assert _fingerprints(assessor, clean) == alone == []


def test_eight_threads_get_the_serial_results(assessor: Assessor, base: Base,
                                              example: Callable[[str], dict[str, Any]]) -> None:
    # one lock per engine; the C code never releases the GIL (trap 9)
    inputs = [example("sales-risky"), example("sales-ready"), example("delivery-risky")]
    for distance in (100, 900, 2000, 5000):
        checklist = base("sales")
        checklist["offsite_factors"] = [dict(LANDFILL, distance_m=distance)]
        inputs.append(checklist)
    expected = [_fingerprints(assessor, c) for c in inputs]
    work = [i % len(inputs) for i in range(8 * 60)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: (i, _fingerprints(assessor, inputs[i])), work))
    assert all(got == expected[i] for i, got in results)


def test_an_engine_error_is_an_evaluation_error_and_the_engine_recovers(
        assessor: Assessor, base: Base) -> None:
    # bare C codes become EvaluationError with their meaning (trap 10); > 252 properties (302)
    huge = {"id": "checklist", "t": "checklist", **{f"p{i}": i for i in range(400)}}
    with pytest.raises(EvaluationError, match="属性过多") as caught:
        assessor.engine.evaluate(["sales"], {"checklist": [huge]})
    assert "too many properties" in caught.value.in_lang("en")[0]
    checklist = base("sales")
    checklist["offsite_factors"] = [LANDFILL]
    assert "SALES-OFFSITE-001" in {f.rule_id for f in assessor.assess(checklist).findings}


def test_an_evaluation_that_runs_no_action_is_an_error_not_a_pass(
        assessor: Assessor, base: Base, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable_rules_engine, "start_action_for_state", lambda *_: None)
    with pytest.raises(EvaluationError, match="没有完成评估") as caught:
        assessor.assess(base("sales"))
    assert "did not finish" in caught.value.in_lang("en")[0]


def test_a_bad_compiled_ruleset_is_refused_clearly() -> None:
    from riskengine.rules.compiler import CompiledRuleset

    bad = CompiledRuleset("sales.bad", {"r": {"all": [{"m": {"$in": {"a": 1}}}]}}, {},
                          frozenset())
    with pytest.raises(EvaluationError, match="sales.bad"):
        Engine([bad])


def test_items_sharing_their_own_id_are_separate_facts(assessor: Assessor, base: Base) -> None:
    # an item's `id` ("P-2") once replaced the positional fact id: two such items collided
    checklist = base("sales")
    material = {"id": "P-2", "kind": "rendering", "crm_reviewed": False,
                "changed_after_review": False, "matches_approved_plan": True,
                "promises_return": False, "mentions": [], "disclaimer": True}
    checklist["sales_materials"] = [material]
    # validation names two items of one id; the engine must still keep them apart
    valid = assessor.validate(checklist)
    valid["sales_materials"].append(dict(valid["sales_materials"][0], kind="website"))
    subjects = {f.subject for f in assessor.assess_valid(valid).findings}
    assert {"sales_materials[0]", "sales_materials[1]"} <= subjects


@pytest.mark.parametrize(("outer", "inner"), [("a_outer", "z_inner"), ("z_outer", "a_inner")])
def test_a_negated_join_is_decided_with_every_item_present(outer: str, inner: str) -> None:
    # negation is decided when the left side arrives (trap 6): a list leaf's join sits behind
    # the END fact, asserted last, so the order of the fact types never matters
    definition = {
        "R": {"all": [{"s": {"t": END}}, {"m": {"$and": [{"t": outer}]}},
                      {"j0$not": {"$and": [{"t": inner}, {"ok": True}]}}]},
        SENTINEL_KEY: {"all": [{"m": {"t": END}}]}}
    engine = Engine([CompiledRuleset("join", definition, {"R": RuleKey("R")},
                                     frozenset({outer, inner}))])

    def fired(inner_facts: list[dict[str, Any]]) -> int:
        facts = {outer: [{"id": f"{outer}:0", "t": outer}],
                 inner: [{"id": f"{inner}:{i}", "t": inner, **f}
                         for i, f in enumerate(inner_facts)]}
        return len(engine.evaluate(["join"], facts))

    assert fired([]) == 1
    assert fired([{"ok": False}]) == 1
    assert fired([{"ok": False}, {"ok": True}]) == 0
