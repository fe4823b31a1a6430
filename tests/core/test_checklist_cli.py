"""`riskengine assess` refuses nonsense and duplicates (exit 2), every problem worded in the
language asked for, path by path on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from riskengine.cli import main

from .conftest import EXAMPLES


def _assess(tmp_path: Path, data: dict[str, Any], *options: str) -> Any:
    path = tmp_path / "checklist.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return CliRunner().invoke(main, ["assess", str(path), *options], catch_exceptions=False)


def _nonsense() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "sales-ready.json").read_text("utf-8"))
    data["promises"] = [{"id": "P-2", "kind": "other"}, {"id": "P-2", "kind": "park"}]
    data["offsite_factors"] = [{"kind": "landfill", "name": "金口", "distance_m": -400}]
    return data


def test_nonsense_and_duplicates_exit_2_every_problem_in_chinese(tmp_path: Path) -> None:
    result = _assess(tmp_path, _nonsense())
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "错误：清单有误"
    assert sorted(lines[1:]) == [
        "  offsite_factors.0.distance_m: 场外不利因素 第 1 行 · 距离（米）：不得小于 0",
        "  promises.0.id: 销售承诺 第 1 行 · 编号：与销售承诺 第 2 行重复（编号相同）",
        "  promises.1.id: 销售承诺 第 2 行 · 编号：与销售承诺 第 1 行重复（编号相同）"]


def test_english_on_request(tmp_path: Path) -> None:
    result = _assess(tmp_path, _nonsense(), "--lang", "en")
    assert result.exit_code == 2
    assert "error: the checklist is invalid" in result.stderr
    assert ("  promises.1.id: Promises row 2 · ID: duplicates Promises row 1 (the same ID)"
            in result.stderr.splitlines())
