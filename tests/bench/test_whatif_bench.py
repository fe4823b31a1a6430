"""bench/whatif.py runs (tiny sizes), so it cannot rot; it asserts shape, never a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_whatif_bench_smoke_run_reports_every_worker_count() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "whatif.py"), "--smoke",
                          "--backend", "sqlite"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])["whatif"]
    assert [r["workers"] for r in summary] == [1, 2]
    assert all(r["checklists"] == 8 and r["cpu_s"] >= 0 for r in summary)
