"""Fixtures for the core: one compiled assessor per session (compiling again leaks in durable)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.rules.cases import base_checklist
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.vocabulary import Stage
from tests.shared import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def assessor() -> Assessor:
    return Assessor.from_path()


@pytest.fixture(scope="session")
def example() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
        return data
    return load


@pytest.fixture(scope="session")
def bases() -> dict[Stage, dict[str, Any]]:
    return {stage: base_checklist(DEFAULT_ROOT, stage) for stage in Stage}


@pytest.fixture
def base(bases: dict[Stage, dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    return lambda stage: copy.deepcopy(bases[Stage(stage)])
