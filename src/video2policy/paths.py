"""Where the bundled examples live: the source checkout's examples/ folder, read by the benchmarks and the demo."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BLOCK_SCENE = EXAMPLES / "scenes" / "block.json"


def example_task(name: str) -> Path:
    """examples/tasks/<name>.py, e.g. example_task("push_block_left")."""
    return EXAMPLES / "tasks" / f"{name}.py"
