"""How every command talks: human text and progress bars on stderr, `--json` events on stdout (one JSON per line)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


class Output:
    """One per command invocation; `json_mode` comes from the command's --json flag."""

    def __init__(self, json_mode: bool = False):
        self.json_mode = json_mode
        self.console = Console(stderr=True)

    def info(self, message: str) -> None:
        """Rich markup is read: pass text from task code, files or models through `rich.markup.escape`."""
        self.console.print(message, soft_wrap=True)  # soft_wrap: logs keep paths and commands on one line

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)
        self.event("warning", message=message)

    def event(self, kind: str, /, **data: Any) -> None:
        """A machine-readable progress event; printed only with --json."""
        if self.json_mode:
            sys.stdout.write(json.dumps({"event": kind, **data}, default=_default) + "\n")
            sys.stdout.flush()

    def result(self, data: dict[str, Any]) -> None:
        """The command's final answer: one JSON object with --json."""
        if self.json_mode:
            self.event("result", **data)

    @contextmanager
    def progress(self, description: str, total: float | None) -> Iterator[ProgressHandle]:
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            disable=not self.console.is_terminal,
        )
        with bar:
            task_id = bar.add_task(description, total=total, status="")
            yield ProgressHandle(self, bar, task_id, description)


class ProgressHandle:
    def __init__(self, out: Output, bar: Progress, task_id: Any, name: str):
        self.out, self.bar, self.task_id, self.name = out, bar, task_id, name

    def update(self, completed: float, status: str = "", **data: Any) -> None:
        self.bar.update(self.task_id, completed=completed, status=status)
        self.out.event("progress", stage=self.name, completed=completed, **data)
