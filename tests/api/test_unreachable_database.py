"""`riskengine db upgrade` and `riskengine serve` on a database that does not answer: one line
on stderr (Chinese, then English) naming where, exit code 3, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.support import STRONG_KEY, free_port

EXIT_ERROR = 3


@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--port", "PORT"]])
def test_an_unreachable_database_is_one_line_and_exit_3(command: list[str],
                                                        tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": STRONG_KEY,
           "RISKENGINE_ENV": "production"}
    argv = [word.replace("PORT", str(free_port())) for word in command]
    done = subprocess.run([sys.executable, "-c", "from riskengine.cli import main; main()",
                           *argv], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == EXIT_ERROR, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith(f"数据库不可达：127.0.0.1:{port}"), line
    assert f"/ database unreachable: 127.0.0.1:{port}" in line, line
    assert line.index("数据库") < line.index("database unreachable")
    assert "Traceback" not in done.stderr and "refused" in line.lower(), line
    assert done.stdout == ""
