"""What-if before release: the core's comparison of two catalogues over stored checklists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.errors import Invalid
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.whatif import Candidate, compare, diff, write_draft
from tests.api.support import checklist

PARKING = (DEFAULT_ROOT / "sales" / "parking.yaml").read_text(encoding="utf-8")
# The draft a rule author might write: undisclosed parking becomes critical and blocking.
STRICTER = PARKING.replace("severity: high", "severity: critical", 1).replace(
    "blocking: false", "blocking: true", 1)


def _undisclosed(code: str) -> dict[str, object]:
    body = checklist("sales-ready", code)
    body["checks"]["parking_info_disclosed"] = False  # type: ignore[index]
    return body


def _candidate(body: dict[str, object]) -> Candidate:
    project = body["project"]
    assert isinstance(project, dict)
    return Candidate(project["code"], project.get("name"), project.get("city"),
                     str(body["stage"]), "c-1", json.dumps(body, ensure_ascii=False))


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_draft(DEFAULT_ROOT, {"sales/parking.yaml": STRICTER},
                       tmp_path_factory.mktemp("draft"))


def test_a_stricter_rule_moves_the_gate_and_names_the_rule(draft: Path) -> None:
    stopped = _candidate(_undisclosed("WI-1"))
    untouched = _candidate(checklist("sales-ready", "WI-2"))
    report = compare(DEFAULT_ROOT, draft, [stopped, untouched])
    first, second = report.projects
    assert (first.gate_before, first.gate_after) == ("conditional", "fail")
    [change] = first.changes
    assert (change.change, change.rule_id) == ("changed", "SALES-PARKING-001")
    assert change.before is not None and change.after is not None
    assert (change.before["severity"], change.after["severity"]) == ("high", "critical")
    assert change.after["blocking"] is True
    assert second.changes == () and not second.gate_changed
    summary = report.summary()
    assert (summary["projects"], summary["gate_changed"], summary["worse"]) == (2, 1, 1)
    assert summary["rules"][0] == {"rule_id": "SALES-PARKING-001", "projects_changed": 1,
                                   "gates_moved": 1}


def test_a_lighter_rule_makes_the_gate_better(tmp_path: Path) -> None:
    lenient = write_draft(DEFAULT_ROOT, {"sales/parking.yaml": PARKING.replace(
        "severity: high", "severity: low", 1)}, tmp_path)
    report = compare(DEFAULT_ROOT, lenient, [_candidate(_undisclosed("WI-3"))])
    [outcome] = report.projects
    assert (outcome.gate_before, outcome.gate_after) == ("conditional", "pass")
    assert report.summary()["better"] == 1
    assert report.summary()["rules"][0]["gates_moved"] == 1  # the high it no longer raises


def test_findings_only_one_side_raises_are_added_or_removed() -> None:
    assessor = Assessor.from_path()
    raised = assessor.assess(_undisclosed("WI-4")).findings
    assert [c.change for c in diff(raised, ())] == ["removed"] * len(raised)
    assert [c.change for c in diff((), raised)] == ["added"] * len(raised)
    assert diff(raised, raised) == []


def test_processes_give_the_same_report_as_one(draft: Path) -> None:
    candidates = [_candidate(_undisclosed(f"WP-{n}")) for n in range(6)]
    alone = compare(DEFAULT_ROOT, draft, candidates, workers=1).to_dict()
    spread = compare(DEFAULT_ROOT, draft, candidates, workers=2).to_dict()
    assert spread == alone


def test_a_draft_file_outside_the_ruleset_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Invalid) as refused:
        write_draft(DEFAULT_ROOT, {"../escape.yaml": "x", "sales/ok.yaml": "y"}, tmp_path)
    assert set(refused.value.details) == {"../escape.yaml"}
