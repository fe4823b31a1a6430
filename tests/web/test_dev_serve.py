"""`riskengine serve --dev` (what `make run` starts) tells a person where the pages are and how
to log in, and the token it prints opens them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from riskengine.cli import main


def test_serve_dev_prints_the_pages_and_how_to_log_in(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import api.serving
    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(api.serving, "serve", lambda *args: served.append(args))
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    result = CliRunner().invoke(main, ["serve", "--dev", "--port", "8123"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert served and served[0][:2] == ("127.0.0.1", 8123)
    secret = lines[-1].split()[-1]
    assert secret.startswith("rk_")
    assert lines[0] == "riskengine 网页 / pages: http://127.0.0.1:8123/"
    login = next(line for line in lines if "/login" in line)
    assert "http://127.0.0.1:8123/login" in login and secret in login
    assert any("riskengine tokens create --role" in line for line in lines)
    assert any(line.endswith("http://127.0.0.1:8123/api/v1/docs") for line in lines)

    from tests.api.support import make_app
    from tests.web.conftest import Visitor
    visitor = Visitor(make_app(url, SECRET_KEY="s" * 64))
    assert visitor.login(secret).status_code == 302  # the printed token logs in to the pages
    assert visitor.get("/").status_code == 200
