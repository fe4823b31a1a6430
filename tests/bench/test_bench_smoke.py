"""Every bench script runs, tiny, on every test run, so none can rot unnoticed.

Each runs with `--smoke --json` (a few seconds); the tests check its summary is well formed and
consistent (the engine's floor found exactly the engine's matches, every phase answered without
errors, every audit run delivered). Never a timing assertion: this machine is shared.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.support import PG_ADMIN_URL, pg_admin

ROOT = Path(__file__).resolve().parents[2]


def smoke(script: str) -> dict[str, Any]:
    env = {**os.environ, "RISKENGINE_BENCH_PG": PG_ADMIN_URL}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--smoke", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"bench/{script} failed:\n{done.stdout}\n{done.stderr}"
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_engine_bench_floor_matches_the_engine_and_reports_every_step() -> None:
    summary = smoke("engine.py")
    assert set(summary["inputs"]) == {"sales-ready", "sales-risky", "delivery-risky",
                                      "large-sales", "large-delivery"}
    for name, figures in summary["inputs"].items():
        assert figures["floor_matched"] is True, name
        assert set(figures["ms"]) == {"validation", "facts", "engine", "floor", "findings",
                                      "answer", "whole"}
        assert all(positive(step["median_ms"]) for step in figures["ms"].values()), name
        assert positive(figures["engine_over_floor"])
        assert all(positive(v) for v in figures["us_per_finding"].values()), name
        assert figures["matches"] > 0 and figures["findings"] > 0
    assert summary["inputs"]["large-sales"]["facts"] > 300
    for stage, floor in summary["floor"].items():
        assert floor["rules"] > 0 and floor["tests"] >= floor["rules"], stage
        assert isinstance(floor["unsupported"], dict)
    assert summary["memory"]["evaluations"] > 0
    assert {"engine", "facts", "findings", "validation"} <= set(summary["profile_percent"])


@pytest.mark.postgres
def test_store_bench_measures_evaluation_submission_and_driver_floor() -> None:
    pg_admin().close()
    summary = smoke("store.py")
    assert set(summary["cpu_ms"]) == {"POST /evaluate", "POST checklists (persisted)",
                                      "driver floor of its writes"}
    for label, cost in summary["cpu_ms"].items():
        assert positive(cost["total"]) and cost["total"] >= cost["python"], label
    assert positive(summary["submission_over_evaluation"])


@pytest.mark.postgres
def test_api_bench_runs_every_phase_without_errors_and_sees_both_workers() -> None:
    pg_admin().close()
    summary = smoke("api.py")
    assert set(summary["phases"]) == {"healthz", "evaluate_small", "evaluate_large",
                                      "persisted_small", "persisted_large", "persisted_small_4"}
    for key, phase in summary["phases"].items():
        assert phase["errors"] == 0 and phase["requests"] > 0, key
        assert positive(phase["server_ms"]) and positive(phase["server_over_healthz"]), key
        assert len(phase["cpu_share_per_worker"]) == summary["workers"], key
        # sampled mid-phase: on a loaded machine a client may still be connecting
        assert len(phase["connections_per_worker"]) == summary["workers"], key
        assert 0 < sum(phase["connections_per_worker"]) <= phase["clients"], key


@pytest.mark.postgres
def test_audits_bench_runs_every_slot_and_delivers_every_notification() -> None:
    pg_admin().close()
    summary = smoke("audits.py")
    assert [p["workers"] for p in summary["passes"]] == [1, 2]
    for run in summary["passes"]:
        assert run["runs"] == summary["projects"] and run["failed"] == 0
        assert run["delivered"] == run["received"] > 0
        assert positive(run["worker_cpu_seconds"])
