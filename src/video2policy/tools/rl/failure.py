"""Turn an exception raised while training on generated task code into a typed failure the agents can act on."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from video2policy.failures import FailureReason, TaskCodeError
from video2policy.tools.rl.vecenv import TrainingTimeout

TRACEBACK_FRAMES = 4


@dataclass
class Failure:
    reason: FailureReason
    message: str
    traceback: str  # the last frames, task-code frames first when there are any
    in_task_code: bool  # False: the failure is the trainer's own (a bug to report, not the reward's fault)


def classify(exc: BaseException, task_code_path: str | Path | None) -> Failure:
    """Map an exception to a FailureReason, keeping the traceback's last frames (those in the task code first)."""
    frames = traceback.extract_tb(exc.__traceback__)
    task_file = str(Path(task_code_path).resolve()) if task_code_path else None
    in_task = [f for f in frames if task_file and _same_file(f.filename, task_file)]
    shown = (in_task or frames)[-TRACEBACK_FRAMES:]
    text = "".join(traceback.format_list(shown)) + "".join(traceback.format_exception_only(type(exc), exc))
    if isinstance(exc, TaskCodeError):
        return Failure(exc.reason, exc.message, text, True)
    if isinstance(exc, TrainingTimeout):
        return Failure(FailureReason.TIMEOUT, str(exc), text, False)
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return Failure(FailureReason.SYNTAX_ERROR, f"{exc.msg}{where}", text, True)
    if isinstance(exc, MemoryError):
        return Failure(FailureReason.MEMORY_LIMIT, "the training ran out of memory", text, bool(in_task))
    if isinstance(exc, ImportError) and not in_task and "Task subclass" in str(exc):
        return Failure(FailureReason.MISSING_PART, str(exc), text, True)
    if isinstance(exc, ImportError):
        return Failure(FailureReason.IMPORT_ERROR, f"{type(exc).__name__}: {exc}", text, True)
    if isinstance(exc, NotImplementedError) and "must define" in str(exc):
        return Failure(FailureReason.MISSING_PART, str(exc), text, True)
    if in_task:
        line = in_task[-1]
        where = f" in {line.name}, line {line.lineno}: {(line.line or '').strip()}"
        return Failure(FailureReason.RUNTIME_ERROR, f"{type(exc).__name__}: {exc}{where}", text, True)
    return Failure(
        FailureReason.RUNTIME_ERROR, f"trainer error (not in the task code): {type(exc).__name__}: {exc}", text, False
    )


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b)
    except OSError:
        return False
