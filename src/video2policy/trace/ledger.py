"""The run ledger: one JSON line per model call, candidate, sandbox result, training, pick and reflection.

Lines are appended and flushed as they happen, so a run killed at any point keeps everything it did. A resumed run
appends to the same file; readers take the last line for a given key (see `trace.stats`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any


class Trace:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def record(self, kind: str, **data: Any) -> dict[str, Any]:
        line = {"t": round(time.time(), 3), "kind": kind, **data}
        text = json.dumps(line, default=str)
        with self._lock, self.path.open("a") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        return line


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """All lines of a ledger; a torn last line (a kill mid-write) is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return lines
