"""Shared fixtures: example paths, offline environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
REAL_DATA = ROOT.parent / "shared" / "data" / "real"


@pytest.fixture
def block_scene_path() -> Path:
    return EXAMPLES / "scenes" / "block.json"


@pytest.fixture
def example_task() -> callable:
    def path(name: str) -> Path:
        return EXAMPLES / "tasks" / f"{name}.py"

    return path
