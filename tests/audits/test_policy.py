"""rulesets/audit.yaml: loaded and checked like a ruleset; a bad file names every problem."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from riskengine.audits import AuditPolicyInvalid
from riskengine.audits.policy import load_audit_policy
from riskengine.rules.catalog import DEFAULT_ROOT, load_catalog
from riskengine.vocabulary import Severity


def test_the_shipped_policy_loads() -> None:
    policy = load_audit_policy()
    assert policy.default_offsets == (90, 60, 30, 14, 7)
    assert policy.escalation[Severity.HIGH].within_days == 14
    ids = {spec.id for spec in policy.findings.values()}
    assert not ids & {rule.id for rule in load_catalog().rules()}, "ids clash with rules"


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load((DEFAULT_ROOT / "audit.yaml").read_text(encoding="utf-8"))
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    (tmp_path / "audit.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                         encoding="utf-8")
    if not (tmp_path / "policy.yaml").exists():
        shutil.copy(DEFAULT_ROOT / "policy.yaml", tmp_path / "policy.yaml")
    return tmp_path


def test_escalation_reaches_the_severity_contact_of_policy_yaml(tmp_path: Path) -> None:
    """One place names who a severity escalates to: policy.yaml; audit.yaml only says when,
    unless it names another contact on purpose."""
    shipped = load_audit_policy()
    assert {s: e.to for s, e in shipped.escalation.items()} == {
        Severity.CRITICAL: "regional_gm", Severity.HIGH: "project_gm",
        Severity.MEDIUM: "department_head"}
    policy = yaml.safe_load((DEFAULT_ROOT / "policy.yaml").read_text(encoding="utf-8"))
    policy["severities"]["high"]["escalation"] = "regional_gm"
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True),
                                          encoding="utf-8")
    moved = load_audit_policy(_write(tmp_path, {"escalation.medium.to": "project_gm"}))
    assert moved.escalation[Severity.HIGH].to == "regional_gm"
    assert moved.escalation[Severity.MEDIUM].to == "project_gm"
    assert moved.content_hash != shipped.content_hash


@pytest.mark.parametrize(("change", "where"), [
    pytest.param({"findings.missing.blocking": False}, "blocking", id="critical_not_blocking"),
    pytest.param({"findings.stale.owner": "nobody"}, "findings.stale.owner", id="bad_owner"),
    pytest.param({"escalation.high.within_days": -1}, "escalation.high", id="negative_days"),
    pytest.param({"schedule.timezone": "Mars/Olympus"}, "timezone", id="bad_zone"),
    pytest.param({"delivery.surprise": 1}, "delivery.surprise", id="unknown_key"),
])
def test_bad_policy_names_the_problem(tmp_path: Path, change: dict[str, object],
                                      where: str) -> None:
    with pytest.raises(AuditPolicyInvalid) as caught:
        load_audit_policy(_write(tmp_path, change))
    assert where in str(caught.value)


def test_time_zone_sets_when_a_slot_falls_due(tmp_path: Path) -> None:
    policy = load_audit_policy(_write(tmp_path, {"schedule.timezone": "Asia/Shanghai",
                                                 "schedule.run_at": "08:00"}))
    assert policy.due_at(dt.date(2027, 6, 1)) == dt.datetime(2027, 6, 1, tzinfo=dt.UTC)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(AuditPolicyInvalid):
        load_audit_policy(tmp_path)


def test_time_zones_resolve_without_the_system_tz_database(tmp_path: Path) -> None:
    """Slim container images ship no /usr/share/zoneinfo: the tzdata package stands in."""
    script = ("import datetime as dt, pathlib, sys\n"
              "from riskengine.audits.policy import load_audit_policy\n"
              "policy = load_audit_policy(pathlib.Path(sys.argv[1]))\n"
              "print(policy.due_at(dt.date(2027, 6, 1)).isoformat())\n")
    folder = _write(tmp_path, {"schedule.timezone": "Asia/Shanghai", "schedule.run_at": "08:00"})
    # An empty PYTHONTZPATH leaves zoneinfo no system directory to search.
    env = {**os.environ, "PYTHONTZPATH": ""}
    done = subprocess.run([sys.executable, "-c", script, str(folder)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2027-06-01T00:00:00+00:00"
