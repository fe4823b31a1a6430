"""Findings from per-rule parts prepared once: the same texts, evidence and fingerprints as
rendering each finding from scratch, in both languages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.inputs import inputs
from riskengine.assessment.assessor import Assessor
from riskengine.assessment.findings import (
    FindingBuilder,
    FindingParts,
    Template,
    _Texts,
    render,
)
from riskengine.rules import engine
from riskengine.vocabulary import FindingStatus, Lang

SAMPLES: list[Any] = ["landfill", "天府锦苑", 400, 12.5, True, False, None,
                      ["school", "metro"], {"zh": "中文", "en": "English"}, "50%"]


def _templates(assessor: Assessor) -> list[str]:
    texts = [t for rule in assessor.catalog.rules()
             for t in (rule.title, rule.message, rule.action)]
    texts.extend(assessor.catalog.policy.incomplete.values())
    return [text[lang] for text in texts for lang in Lang]


def test_a_parsed_template_fills_as_render_does(assessor: Assessor) -> None:
    policy = assessor.catalog.policy
    templates = _templates(assessor) + ["100% {a}", "{{literal}} {a:label}", "no places"]
    for index, text in enumerate(templates):
        names = [name for name in _names(text)]
        for shift in range(len(SAMPLES)):
            values = {n: SAMPLES[(i + shift) % len(SAMPLES)] for i, n in enumerate(names)}
            for lang in Lang:
                assert Template(text).fill(values, policy, lang) == render(
                    text, values, policy, lang), (index, text, values)


def _names(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_values_nested_under_one_another_are_read_as_render_reads_them(
        assessor: Assessor) -> None:
    # `a` and `a.b` both given: render nests them (the later replacing the earlier); the
    # parsed path keeps that reading rather than its flat lookup
    policy = assessor.catalog.policy
    templates = {"title": {lang: Template("{a.b} / {c}") for lang in Lang},
                 "message": {lang: Template("m") for lang in Lang},
                 "action": {lang: Template("{a.b:label}") for lang in Lang}}
    values = {"a": "outer", "a.b": "landfill"}
    texts = _Texts(templates, values, {"zh": "来源", "en": "source"}, policy, nested=True)
    for lang in Lang:
        assert texts[lang].title == render("{a.b} / {c}", values, policy, lang)
        assert texts[lang].action == render("{a.b:label}", values, policy, lang)


@pytest.mark.parametrize("name", list(inputs()))
def test_shared_parts_give_what_fresh_parts_give(assessor: Assessor, name: str) -> None:
    checklist = assessor.validate(inputs()[name])
    facts, matches = assessor.match(checklist)
    shared = FindingBuilder(assessor.catalog, checklist, facts, assessor.parts).build(matches)
    again = FindingBuilder(assessor.catalog, checklist, facts, assessor.parts).build(matches)
    facts, matches = assessor.match(checklist)
    fresh = FindingBuilder(assessor.catalog, checklist, facts,
                           FindingParts(assessor.catalog)).build(matches)
    for lang in Lang:
        expected = [f.to_dict(lang) for f in fresh]
        assert [f.to_dict(lang) for f in shared] == expected
        assert [f.to_dict(lang) for f in again] == expected
    assert len({f.fingerprint for f in shared}) == len(shared) > 0


def test_a_finding_keeps_its_identity_when_its_status_does_not_change(
        assessor: Assessor, example: Any) -> None:
    finding = assessor.assess(example("sales-risky")).findings[0]
    assert finding.with_status(FindingStatus.OPEN) is finding
    waived = finding.with_status(FindingStatus.WAIVED, finding.due_date)
    assert waived is not finding and waived.status is FindingStatus.WAIVED
    assert waived.to_dict()["fingerprint"] == finding.fingerprint


def test_every_action_message_is_read_without_decoding_it_whole(
        assessor: Assessor, monkeypatch: pytest.MonkeyPatch) -> None:
    # the facts are encoded compactly (orjson); the message head is read by one pattern, a
    # join's (the END fact first) too: json.loads is the fallback, never the usual path
    raws = list(inputs().values())  # read before: the example files are JSON
    decoded: list[str] = []
    real = json.loads

    def counting(text: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(engine.json, "loads", counting)
    found = sum(len(assessor.assess(raw).findings) for raw in raws)
    assert found > 200
    assert decoded == []
