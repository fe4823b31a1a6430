"""Every rule's own examples (`<topic>.test.yaml`): the same cases `riskengine rules test` runs."""

from __future__ import annotations

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.rules.cases import Case, load_cases, run_case

CASES = list(load_cases())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_case(assessor: Assessor, case: Case) -> None:
    outcome = run_case(assessor, case)
    assert outcome.passed, "\n".join(outcome.problems)


def test_there_are_cases_for_both_stages() -> None:
    assert {c.ruleset.split(".")[0] for c in CASES} == {"sales", "delivery"}
