"""What a person reads names facts by their labels: no internal key, no English code in zh."""

from __future__ import annotations

import re

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.rules.cases import load_cases
from riskengine.vocabulary import Category, Lang, Owner, Severity

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")


def _codes(assessor: Assessor) -> set[str]:
    labels = assessor.catalog.policy.labels
    codes = set(labels.get("kind", {})) | set(labels.get("escalation", {}))
    return codes | {e.value for enum in (Category, Owner, Severity) for e in enum}


def internal_words(text: str, codes: set[str]) -> list[str]:
    """Return the words of a zh text that are keys or codes rather than Chinese."""
    return [t for t in _TOKEN.findall(text)
            if "_" in t or t.startswith(("checks.", "count_by.", "count.", "milestones."))
            or t.rstrip(".") in codes]


def test_internal_words_are_found() -> None:
    codes = {"obtained"}
    assert internal_words("售楼处未公示五证（checks.five_certificates_displayed = 否）", codes)
    assert internal_words("状态为“obtained”", codes) == ["obtained"]
    assert internal_words("110kV 变电站 AD-7 距项目 3 米", codes) == []


_CASES = list(load_cases())


@pytest.mark.parametrize("case", _CASES, ids=[c.id for c in _CASES])
def test_rule_case_texts_name_no_internal_key(assessor: Assessor, case: object) -> None:
    findings = assessor.assess(case.checklist).findings  # type: ignore[attr-defined]
    codes = _codes(assessor)
    problems = {}
    for finding in findings:
        zh, en = finding.texts[Lang.ZH], finding.texts[Lang.EN]
        assert en.title and en.message and en.action  # English is rendered too
        for part in ("title", "message", "action"):
            found = internal_words(getattr(zh, part), codes)
            if found:
                problems[f"{finding.rule_id} {finding.subject} {part}"] = found
    assert problems == {}
