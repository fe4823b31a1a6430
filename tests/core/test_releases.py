"""Rule releases: a ruleset version as data, and what changed between two versions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from riskengine.assessment.ledger import load_ledger
from riskengine.releases import Snapshot, changes, release_log, snapshot, snapshots, unforced
from riskengine.rules.catalog import DEFAULT_ROOT, load_catalog
from riskengine.whatif import write_draft


def _parking(root: Path) -> dict[str, object]:
    catalog = load_catalog(root)
    ruleset = catalog.ruleset("sales.parking")
    assert ruleset is not None
    return dict(snapshot(ruleset).content)


def test_every_judged_ruleset_and_the_ledger_have_a_snapshot_of_json_data() -> None:
    catalog = load_catalog(DEFAULT_ROOT)
    found = snapshots(catalog, load_ledger(catalog, DEFAULT_ROOT))
    assert {s.ruleset_id for s in found} == {r.id for r in catalog.rulesets} | {"delivery.ledger"}
    for item in found:
        assert json.loads(json.dumps(item.content)) == item.content
        assert all({"title", "severity", "message", "source"} <= set(rule)
                   for rule in item.content["rules"].values())


def test_a_changed_severity_and_parameter_are_named(tmp_path: Path) -> None:
    before = _parking(DEFAULT_ROOT)
    text = (DEFAULT_ROOT / "sales" / "parking.yaml").read_text(encoding="utf-8")
    after = _parking(write_draft(DEFAULT_ROOT, {"sales/parking.yaml": text.replace(
        "severity: high", "severity: critical", 1).replace("blocking: false", "blocking: true",
                                                            1)}, tmp_path))
    found = changes(before, after)
    assert found["rules_changed"] == {"SALES-PARKING-001": ["severity", "blocking"]}
    assert found["rules_added"] == [] and found["rules_removed"] == []
    assert changes(before, before)["rules_changed"] == {}


def test_the_log_says_what_each_version_added() -> None:
    first = {"parameters": {"radius_m": 500}, "rules": {"R-1": {"severity": "high"}}}
    second = {"parameters": {"radius_m": 800},
              "rules": {"R-1": {"severity": "high"}, "R-2": {"severity": "low"}}}

    log = release_log([(Snapshot("s.t", "a", "1.0.0", "sales", first),
                        dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
                       (Snapshot("s.t", "b", "1.1.0", "sales", second),
                        dt.datetime(2026, 12, 2, tzinfo=dt.UTC))])
    assert log[0]["changes"]["rules_added"] == ["R-1"]
    assert log[1]["changes"] == {"rules_added": ["R-2"], "rules_removed": [],
                                 "rules_changed": {}, "parameters_changed": {
                                     "radius_m": {"before": 500, "after": 800}}}


def test_a_date_on_a_rule_already_in_force_is_refused(tmp_path: Path) -> None:
    catalog = load_catalog(DEFAULT_ROOT)
    released = snapshots(catalog, load_ledger(catalog, DEFAULT_ROOT))
    text = (DEFAULT_ROOT / "sales" / "parking.yaml").read_text(encoding="utf-8")
    dated = text.replace("  - id: SALES-PARKING-001\n",
                         "  - id: SALES-PARKING-001\n    effective_on: 2027-06-01\n", 1)
    assert dated != text
    draft = load_catalog(write_draft(DEFAULT_ROOT, {"sales/parking.yaml": dated}, tmp_path))
    assert list(unforced(draft, released)) == ["sales/parking.yaml: SALES-PARKING-001"]
    assert unforced(catalog, released) == {}  # the newer rules were dated from the start
