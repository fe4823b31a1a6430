"""The words table of refusals: every refusal said in Chinese and English alike, closed-set
parameters by their labels, and no raise site left with an English-only literal."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest

import api
import riskengine
from riskengine.checklist.wording import SUMMARIES
from riskengine.errors import Refused, RiskEngineError
from riskengine.refusals import JSON_PROBLEMS, LABELLED, WORDS, refusal
from riskengine.vocabulary import Lang

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Refusals whose message is a checklist or workbook summary: riskengine.checklist.wording's
# table says those in both languages.
WORDED_ELSEWHERE = set(SUMMARIES)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(WORDS))
def test_every_refusal_is_said_in_both_languages(key: str) -> None:
    zh, en = WORDS[key]
    assert zh.strip() and en.strip()
    assert CJK.search(zh), zh
    assert not CJK.search(en), en
    assert _fields(zh) == _fields(en)  # the same parameters in both


def test_json_complaints_are_said_in_both_languages() -> None:
    assert all(CJK.search(zh) and en and not CJK.search(en) for zh, en in JSON_PROBLEMS.values())


def test_closed_set_parameters_are_shown_by_their_labels() -> None:
    said = refusal("transition_refused", current="open", target="in_progress")
    assert said.say(Lang.ZH) == "风险发现不能从“待处理”变为“处理中”"
    assert said.say(Lang.EN) == "a finding cannot go from Open to In progress"
    assert refusal("owned_by", owner="legal").say(Lang.ZH) == "此风险发现属于法务部门"
    assert refusal("needs_roles", roles=["admin", "reviewer"]).say(Lang.ZH) == (
        "需要以下角色之一：管理员、评审人")
    assert refusal("stage_choices", stages=["sales", "delivery"]).say(Lang.EN) == (
        "one of: Sales, Delivery")
    assert refusal("allowed_from", current="verified", statuses=[]).say(Lang.ZH) == (
        "“已核实关闭”可变为：无")
    assert set(LABELLED.values()) <= {"status", "role", "owner", "stage", "gate"}


def test_an_unknown_key_fails_at_once() -> None:
    with pytest.raises(KeyError, match="no_such_refusal"):
        refusal("no_such_refusal")


def test_an_error_says_its_message_and_details_in_the_language_asked() -> None:
    error = Refused(refusal("request_pending"), {"waiver_request": [refusal("wait_for_decision")],
                                                 "allowed": ["open"]}, code="request_pending")
    assert error.message == "该风险发现已有一项待审批的豁免申请"
    assert error.details == {"waiver_request": ["请等待审批结果"], "allowed": ["open"]}
    assert error.in_lang("en") == ("a waiver request for this finding is already pending",
                                   {"waiver_request": ["wait for its decision"],
                                    "allowed": ["open"]})
    assert error.code == "request_pending" and str(error).startswith("该风险发现")


def _error_names() -> set[str]:
    for package in (riskengine, api):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if "migrations" not in module.name and not module.name.endswith(
                    ("__main__", ".wsgi")):
                importlib.import_module(module.name)

    def under(kind: type) -> set[str]:
        return {kind.__name__}.union(*(under(k) for k in kind.__subclasses__()))
    # a rule file's problems too: they end up in a RulesetInvalid's details
    return under(RiskEngineError) | {"RuleProblem", "NetworkTooLarge"}


def _literal_messages(path: Path, errors: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in errors:
            continue
        # ReviewRefused takes its code first, then its message.
        args = node.args[1:] if name == "ReviewRefused" else node.args
        given = [*args[:1], *(k.value for k in node.keywords if k.arg == "message")]
        for message in given:
            if isinstance(message, ast.Constant | ast.JoinedStr):
                text = message.value if isinstance(message, ast.Constant) else ast.unparse(
                    message)[2:-1]
                if text not in WORDED_ELSEWHERE:
                    found.append(f"{path.name}:{node.lineno}: {text}")
    return found


def test_no_error_is_raised_with_an_english_only_literal() -> None:
    errors = _error_names()
    assert {"NotFound", "Forbidden", "StaleVersion", "ScheduleInvalid", "TooManyRequests",
            "RulesetInvalid", "RuleProblem"} <= errors
    sources = [p for d in ("riskengine", "api") for p in sorted((ROOT / d).rglob("*.py"))
               if "migrations" not in p.parts]
    found = [line for path in sources for line in _literal_messages(path, errors)]
    assert not found, "\n".join(found)


def test_the_scan_finds_a_literal(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text('raise NotFound(f"finding {x} not found")\n'
                      'raise NotFound(refusal("finding_not_found", id=x))\n'
                      'raise ReviewRefused("superseded", "a newer checklist")\n'
                      'raise Invalid(message="nothing to change")\n', encoding="utf-8")
    assert _literal_messages(source, {"NotFound", "ReviewRefused", "Invalid"}) == [
        "probe.py:1: finding {x} not found", "probe.py:3: a newer checklist",
        "probe.py:4: nothing to change"]
