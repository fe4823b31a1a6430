"""What the podman build (test_podman_image.py) cannot tell: that its base stands for production's.

That build replaces the Dockerfile's base, python:3.11-slim from Docker Hub (out of reach here),
with a stand-in made from Debian's packages, through the `BASE` build argument. It says something
about production only if every stage is built FROM that argument, the argument's default is the
slim Python image, and the stand-in has the same Python minor version as that default. Whatever
else the image is (its files, user, CMD, HEALTHCHECK, the service it runs) is checked on the
built image itself.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.deploy import standin

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions(keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction (continuation lines never start one)."""
    return [found[1].strip() for found in
            re.finditer(rf"^{keyword}\s+(.*)$", DOCKERFILE, re.MULTILINE | re.IGNORECASE)]


def default_base() -> str:
    found = [a.split("=", 1)[1] for a in instructions("ARG") if a.startswith("BASE=")]
    assert len(found) == 1, f"ARG BASE=...: {instructions('ARG')}"
    return found[0]


def test_every_stage_is_built_from_the_base_argument() -> None:
    stages = instructions("FROM")
    assert len(stages) == 2, stages
    assert all(stage.split()[0] == "${BASE}" for stage in stages), stages
    first_from = DOCKERFILE.upper().index("\nFROM ")
    assert DOCKERFILE.upper().index("\nARG BASE=") < first_from, "ARG BASE comes after a FROM"


def test_the_default_base_is_the_slim_image_of_the_python_the_project_needs() -> None:
    found = re.fullmatch(r"python:(\d+)\.(\d+)-slim(-\w+)?", default_base())
    assert found, default_base()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["requires-python"]
    bounds = re.fullmatch(r">=(\d+)\.(\d+),<(\d+)\.(\d+)", requires)
    assert bounds, requires
    low, high = (int(bounds[1]), int(bounds[2])), (int(bounds[3]), int(bounds[4]))
    assert low <= (int(found[1]), int(found[2])) < high, (
        f"{default_base()} against requires-python {requires}")


def test_the_stand_in_has_the_default_bases_python() -> None:
    version = re.fullmatch(r"python:(\d+\.\d+)-slim.*", default_base())
    assert version and standin.PYTHON == f"python{version[1]}", (standin.PYTHON, default_base())
    assert standin.PYTHON in standin.PACKAGES and f"{standin.PYTHON}-dev" in standin.PACKAGES
