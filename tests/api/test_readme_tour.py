"""The README's curl tour, run as written against a real server: the README stays true.

Each ```sh block of the section "A tour with curl" runs in order in one bash, with `curl`
failing on any HTTP error, against `riskengine serve` on the embedded SQLite file (what
`make run` starts). Only two blocks are not run as written: the one that sets API and TOKEN
(the test sets them to its own server and token) and the Excel upload, which needs a person
to fill in the template first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import (
    EXAMPLES,
    ROOT,
    RULESETS,
    STRONG_KEY,
    free_port,
    serve_in_background,
)
from tests.shared import SHARED

SECTION = "### A tour with curl"
MANUAL = "fill it in Excel"


def tour_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def riskengine(*args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", "from riskengine.cli import main; main()",
                           *args], env=env, cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """(API base URL, admin token, working directory) of a fresh embedded deployment."""
    home = tmp_path_factory.mktemp("tour")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"SECRET_KEY": STRONG_KEY, "RISKENGINE_RULESETS": str(RULESETS),
                "RISKENGINE_LOG_REQUESTS": "0", "RISKENGINE_SCHEDULER": "0"})
    riskengine("db", "upgrade", env=env, cwd=home)
    token = riskengine("tokens", "create", "--role", "admin", "--name", "tour",
                       env=env, cwd=home).split()[-1]
    port = free_port()
    process = serve_in_background(env, home, port, "--workers", "1")
    try:
        yield f"http://127.0.0.1:{port}/api/v1", token, home
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_the_tour_has_the_steps_the_issue_names() -> None:
    steps = "\n".join(tour_blocks())
    for step in ("/evaluate", "/checklists", '"waived"', "/gate-reviews", "/promises",
                 "DELIVERY-LEDGER-001", "blocking_ids"):
        assert step in steps


def test_the_curl_tour_runs_as_written(server: tuple[str, str, Path]) -> None:
    api, token, home = server
    if shutil.which("jq") is None or shutil.which("curl") is None:
        raise AssertionError("the README's tour needs curl and jq on the PATH")
    script = [
        "set -euo pipefail",
        # Any 4xx/5xx stops the tour, as a reader would stop.
        'curl() { command curl --fail-with-body "$@"; }',
        f"export API={api} TOKEN={token}",
        'auth=(-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json")',
        f"EX={EXAMPLES.resolve()}",
    ]
    for block in tour_blocks():
        if "export API=" in block or MANUAL in block:
            continue
        script.append(block)
    script.append('echo "tour-end A=$A F=$F B=$B"')
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=home, capture_output=True,
                          encoding="utf-8", errors="replace", timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "tour-end" in done.stdout
    ids = dict(part.split("=", 1) for part in done.stdout.split("tour-end ", 1)[1].split())
    # What the reader was told happens, as the server now has it.
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str) -> dict[str, object]:
        request = urllib.request.Request(api + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            body: dict[str, object] = json.loads(answer.read())
            return body

    stored = json.loads((home / "assessment.json").read_text(encoding="utf-8"))
    assert stored["id"] == ids["A"] and stored["findings"], stored
    worked = get(f"/findings/{ids['F']}")
    assert worked["notes"] == "补充公示已排期"
    # The first finding may be the first blocking one too: then the waiver came after.
    assert worked["status"] == ("waived" if ids["F"] == ids["B"] else "in_progress")
    assert [e["to_status"] for e in worked["events"]][-2 if ids["F"] == ids["B"] else -1] == (
        "in_progress")
    waived = get(f"/findings/{ids['B']}")
    assert waived["status"] == "waived" and waived["blocking"] is True
    reviews = get("/projects/CD-TF-03/gate-reviews")["items"]
    assert isinstance(reviews, list) and reviews[0]["decision"] == "conditional"
    promises = get("/projects/CD-TF-03/promises")["promises"]
    assert isinstance(promises, list) and promises, promises
    # The ledger step shows what it says: the sales promise the delivery checklist left out.
    delivery = json.loads((home / "delivery.json").read_text(encoding="utf-8"))
    ledger = [f for f in delivery["findings"] if f["rule_id"] == "DELIVERY-LEDGER-001"]
    assert [f["subject"] for f in ledger] and "P-1" in ledger[0]["message"], ledger
    # Blockers by tracked id beside their fingerprints, in the same order.
    by_fingerprint = {f["fingerprint"]: f["id"] for f in stored["findings"]}
    assert stored["gate"]["blocking_ids"] == [by_fingerprint[f] for f in stored["gate"]["blocking"]]
    assert ids["B"] == stored["gate"]["blocking_ids"][0]


def test_readiness_counts_the_rulesets_the_listing_shows(server: tuple[str, str, Path]) -> None:
    api, token, _ = server
    root = api.rsplit("/api/v1", 1)[0]
    with urllib.request.urlopen(f"{root}/readyz", timeout=10) as answer:
        ready = json.loads(answer.read())
    request = urllib.request.Request(f"{api}/rulesets",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        listed = json.loads(answer.read())["rulesets"]
    assert ready["checks"]["rulesets"] == len(listed)
    assert "delivery.ledger" in {r["id"] for r in listed}


SAMPLE = "$ riskengine assess ../shared/contract/examples/sales-risky.json --format table"


def test_the_readmes_table_samples_are_the_real_output_in_order() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(SAMPLE, 1)[1].split("```", 1)[0]
    samples = [f"{SAMPLE}{part}" for part in block.split(SAMPLE)]
    assert len(samples) == 2
    for sample in samples:
        command, *shown = sample.rstrip("\n").split("\n")
        # the README names the contract folder beside the checkout; a clone elsewhere finds it
        args = [a.replace("../shared", str(SHARED), 1) for a in command.split()[2:]]
        done = subprocess.run([sys.executable, "-m", "riskengine", *args], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        real = done.stdout.splitlines()
        shown = [line for line in shown if line != "…"]
        assert real[:len(shown)] == shown, (args, real[:len(shown)])
