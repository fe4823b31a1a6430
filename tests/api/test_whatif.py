"""What-if over HTTP and on the command line, on both databases (scoped, read-only)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from riskengine.rules import network
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.whatif import write_draft
from tests.api.support import Caller, unique_code
from tests.core.test_whatif import PARKING, STRICTER, _undisclosed


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_draft(DEFAULT_ROOT, {"sales/parking.yaml": STRICTER},
                       tmp_path_factory.mktemp("draft"))


def test_the_api_reports_only_the_callers_projects(caller: Callable[..., Caller],
                                                   admin: Caller) -> None:
    mine, other = unique_code("WA"), unique_code("WB")
    for code in (mine, other):
        assert admin.submit(_undisclosed(code)).status_code == 201
    reviewer = caller("reviewer", projects=[mine])
    answer = reviewer.post("/api/v1/rules/whatif", {"files": {"sales/parking.yaml": STRICTER}})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert [p["project_code"] for p in body["projects"]] == [mine]
    assert body["projects"][0]["gate"] == {"before": "conditional", "after": "fail",
                                           "changed": True}
    workbook = reviewer.post("/api/v1/rules/whatif?format=xlsx",
                             {"files": {"sales/parking.yaml": STRICTER}})
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.data))
    assert book.sheetnames == ["概要", "规则", "变化明细"]
    rows = list(book["变化明细"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:5] == (mine, "销售阶段", "有条件通过", "不通过", "变更")


def test_only_reviewers_and_admins_may_run_it(caller: Callable[..., Caller]) -> None:
    answer = caller("submitter").post("/api/v1/rules/whatif",
                                      {"files": {"sales/parking.yaml": STRICTER}})
    assert answer.status_code == 403


def test_a_draft_that_does_not_load_is_422_with_every_problem_by_file(
        caller: Callable[..., Caller]) -> None:
    broken = PARKING.replace("severity: high", "severity: dire", 1)
    answer = caller("reviewer").post("/api/v1/rules/whatif",
                                     {"files": {"sales/parking.yaml": broken}})
    assert answer.status_code == 422
    details = answer.get_json()["error"]["details"]
    assert any(key.startswith("sales/parking.yaml") for key in details), details
    assert not any("riskengine-draft-" in key for key in details)


def test_the_cli_prints_the_change_and_exits_1_when_a_gate_gets_worse(
        db_url: str, admin: Caller, draft: Path) -> None:
    code = unique_code("WC")
    assert admin.submit(_undisclosed(code)).status_code == 201
    run = subprocess.run(
        [sys.executable, "-m", "riskengine", "rules", "whatif", str(draft), "--format", "json",
         "--workers", "1"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "DATABASE_URL": db_url}, check=False)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    mine = [p for p in report["projects"] if p["project_code"] == code]
    assert mine and mine[0]["gate"]["after"] == "fail"
    assert report["summary"]["worse"] >= 1


def test_every_ruleset_version_judged_with_is_kept_and_logged(admin: Caller) -> None:
    assert admin.submit(_undisclosed(unique_code("WR"))).status_code == 201
    log = admin.get("/api/v1/rulesets/sales.parking/releases").get_json()
    current = admin.get("/api/v1/rulesets").get_json()["rulesets"]
    version = next(r for r in current if r["id"] == "sales.parking")
    assert version["hash"] in [r["hash"] for r in log["releases"]]
    kept = admin.get(f"/api/v1/rulesets/sales.parking/releases/{version['hash']}").get_json()
    assert kept["rules"]["SALES-PARKING-001"]["severity"] == "high"
    assert kept["rules"]["SALES-PARKING-001"]["title"]["zh"]
    missing = admin.get("/api/v1/rulesets/sales.parking/releases/0000")
    assert missing.status_code == 404
    assert admin.get("/api/v1/rulesets/no.such/releases").status_code == 404


def test_a_draft_that_dates_a_rule_in_force_is_refused(admin: Caller) -> None:
    assert admin.submit(_undisclosed(unique_code("WU"))).status_code == 201  # keeps releases
    dated = PARKING.replace("  - id: SALES-PARKING-001\n",
                            "  - id: SALES-PARKING-001\n    effective_on: 2027-06-01\n", 1)
    answer = admin.post("/api/v1/rules/whatif", {"files": {"sales/parking.yaml": dated}})
    assert answer.status_code == 422
    assert list(answer.get_json()["error"]["details"]) == [
        "sales/parking.yaml: SALES-PARKING-001"]
    assert answer.get_json()["error"]["message"] == "草稿暂停了已生效的规则"
    [line] = answer.get_json()["error"]["details"]["sales/parking.yaml: SALES-PARKING-001"]
    assert line.startswith("生效日期：该规则在 sales.parking ") and "不能暂停已生效的规则" in line
    english = admin.post("/api/v1/rules/whatif", {"files": {"sales/parking.yaml": dated}},
                         query_string={"lang": "en"}).get_json()["error"]
    assert english["message"] == "the draft suspends rules that are in force"


def test_the_service_will_not_start_with_rules_that_date_a_rule_in_force(
        db_url: str, admin: Caller, tmp_path: Path) -> None:
    from api import create_app
    from riskengine.errors import RulesetInvalid
    assert admin.submit(_undisclosed(unique_code("WS"))).status_code == 201  # keeps releases
    dated = PARKING.replace("  - id: SALES-PARKING-001\n",
                            "  - id: SALES-PARKING-001\n    effective_on: 2027-06-01\n", 1)
    root = write_draft(DEFAULT_ROOT, {"sales/parking.yaml": dated}, tmp_path / "rules")
    with pytest.raises(RulesetInvalid) as refused:
        create_app({"ENV": "testing", "DATABASE_URL": db_url, "RULESETS_DIR": str(root),
                    "LOG_REQUESTS": False, "AUDIT_SCHEDULER": False})
    assert "sales/parking.yaml: SALES-PARKING-001" in refused.value.details


BAD_DRAFTS = {  # a bad rule of each kind: where its problem is keyed, Chinese, English
    "unknown-operator": ({"sales/parking.yaml": PARKING.replace(
        "eq: false}", "equals: false}", 1)}, "sales/parking.yaml: SALES-PARKING-001",
        "条件须有 `field` 或 `ratio`", "a leaf needs `field` or `ratio`"),
    "missing-field": ({"sales/parking.yaml": PARKING.replace("    category: parking\n", "", 1)},
                      "sales/parking.yaml: SALES-PARKING-001", "category：必填",
                      "category: is required"),
    "duplicate-id": ({"sales/copy.yaml": PARKING.replace(
        "ruleset: sales.parking", "ruleset: sales.copy", 1)},
        "sales/parking.yaml: SALES-PARKING-001", "id：规则编号重复（sales/copy.yaml 中也有）",
        "id: duplicate rule id (also in sales/copy.yaml)"),
}


@pytest.mark.parametrize("kind", sorted(BAD_DRAFTS))
def test_a_bad_rule_is_refused_in_the_readers_language(caller: Callable[..., Caller],
                                                       kind: str) -> None:
    files, where, zh, en = BAD_DRAFTS[kind]
    reviewer = caller("reviewer")
    chinese = reviewer.post("/api/v1/rules/whatif", {"files": files})
    english = reviewer.post("/api/v1/rules/whatif?lang=en", {"files": files})
    assert chinese.status_code == english.status_code == 422
    said = {lang: answer.get_json()["error"] for lang, answer in (("zh", chinese),
                                                                  ("en", english))}
    assert said["zh"]["message"] == "草稿规则集无法加载"
    assert said["en"]["message"] == "the draft rulesets do not load"
    assert set(said["zh"]["details"]) == set(said["en"]["details"])  # keys stay machine paths
    assert any(zh in line for line in said["zh"]["details"][where]), said["zh"]["details"]
    assert any(en in line for line in said["en"]["details"][where]), said["en"]["details"]
    assert not any(en in line for lines in said["zh"]["details"].values() for line in lines)


def test_a_draft_over_a_limit_of_the_engine_is_refused_in_both_languages(
        caller: Callable[..., Caller], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MAX_RULES_AT_NODE", 1)
    reviewer = caller("reviewer")
    files = {"sales/parking.yaml": STRICTER}
    chinese = reviewer.post("/api/v1/rules/whatif", {"files": files}).get_json()["error"]
    english = reviewer.post("/api/v1/rules/whatif?lang=en", {"files": files}).get_json()["error"]
    assert "超出规则引擎的容量" in " ".join(chinese["details"]["rulesets/sales"])
    assert "does not fit the rule engine" in " ".join(english["details"]["rulesets/sales"])


def test_the_cli_says_a_bad_rule_in_lang_or_in_both(tmp_path: Path) -> None:
    root = write_draft(DEFAULT_ROOT, {"sales/parking.yaml": PARKING.replace(
        "eq: false}", "equals: false}", 1)}, tmp_path / "rules")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "riskengine", "rules", *args,
                               "--rulesets", str(root)], capture_output=True, text=True,
                              env=env, timeout=120)

    english = run("list", "--lang", "en")
    assert english.returncode == 3
    assert "error: 1 ruleset location(s) have problems" in english.stderr
    assert "a leaf needs `field` or `ratio`" in english.stderr and "条件" not in english.stderr
    both = run("test")  # no --lang: Chinese, then English
    assert both.returncode == 3
    assert "错误：规则集中有 1 处问题 / error: 1 ruleset location(s) have problems" in both.stderr
    assert "SALES-PARKING-001: 条件须有 `field` 或 `ratio`" in both.stderr
    assert "/ a leaf needs `field` or `ratio`" in both.stderr
