"""The README's section on the finding workflow, run as written against a real server (like
tests/api/test_readme_tour.py runs the tour): its curl examples stay true."""

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

from tests.api.support import EXAMPLES, ROOT, RULESETS, STRONG_KEY, free_port, serve_in_background

SECTION = "### Closing the loop"
Server = tuple[str, str, Path, dict[str, str]]  # API base, admin token, home, environment


def blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("loop-tour")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"SECRET_KEY": STRONG_KEY, "RISKENGINE_RULESETS": str(RULESETS),
                "RISKENGINE_LOG_REQUESTS": "0", "RISKENGINE_SCHEDULER": "0",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"})

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-c", "from riskengine.cli import main; main()",
                               *args], env=env, cwd=home, capture_output=True, text=True,
                              check=True).stdout
    cli("db", "upgrade")
    token = cli("tokens", "create", "--role", "admin", "--name", "loop.tour").split()[-1]
    port = free_port()
    process = serve_in_background(env, home, port, "--workers", "1")
    try:
        yield f"http://127.0.0.1:{port}/api/v1", token, home, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_the_workflow_section_runs_as_written(
        server: Server) -> None:
    api, token, home, env = server
    if shutil.which("jq") is None or shutil.which("curl") is None:
        raise AssertionError("the README's examples need curl and jq on the PATH")
    found = blocks()
    assert len(found) == 3 and "tokens create" in found[0]
    script = ["set -euo pipefail", 'curl() { command curl --fail-with-body "$@"; }',
              f"export API={api} TOKEN={token}", f"EX={EXAMPLES.resolve()}", *found,
              'echo "loop-end G=$G H=$H R=$R P=$P Q=$Q"']
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=home, env=env,
                          capture_output=True, encoding="utf-8", errors="replace", timeout=180,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ids = dict(p.split("=", 1) for p in done.stdout.split("loop-end ", 1)[1].split())

    def get(path: str) -> dict[str, object]:
        request = urllib.request.Request(api + path,
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            body: dict[str, object] = json.loads(answer.read())
            return body

    verified = get(f"/findings/{ids['G']}")
    assert verified["status"] == "verified"
    actions = [e["action"] for e in verified["events"]]  # type: ignore[union-attr]
    assert actions[-6:] == ["status", "rejected", "attachment_added", "status", "verified",
                            "attachment_removed"]
    resolutions = [e for e in verified["events"] if e["to_status"] == "resolved"  # type: ignore[union-attr]
                   and e["action"] == "status"]
    assert [r["details"]["evidence"]["attachments"] for r in resolutions] == [[ids["P"]],
                                                                            [ids["Q"]]]
    assert "\n0\n" in done.stdout or re.search(r"^\d+$", done.stdout, re.M)  # blocking
    assert re.search(r"^null$", done.stdout, re.M)  # verified: no longer blocking
    from PIL import Image
    with Image.open(home / "kept.jpg") as kept:  # the photo as stored: upright, no EXIF
        assert kept.size == (900, 1200) and not kept.getexif()
    waived = get(f"/findings/{ids['H']}")
    assert waived["status"] == "waived"
    assert waived["waiver_requests"][0]["id"] == ids["R"]  # type: ignore[index]
    assert waived["comments"][0]["mentions"] == ["legal"]  # type: ignore[index]
    assert '"succeeded": ' in done.stdout and '"failed": 0' in done.stdout
    assert '"lapsed": []' in done.stdout  # the sweep ran; nothing had lapsed
