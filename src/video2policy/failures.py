"""One taxonomy of failures for generated task code, shared by the sandbox tiers and RL training.

The coder and reflector agents read these reasons, so each one must say what went wrong precisely enough to fix.
"""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    SYNTAX_ERROR = "syntax_error"
    FORBIDDEN_CONSTRUCT = "forbidden_construct"
    IMPORT_ERROR = "import_error"
    MISSING_PART = "missing_part"
    BAD_SIGNATURE = "bad_signature"
    RUNTIME_ERROR = "runtime_error"
    SHAPE_MISMATCH = "shape_mismatch"
    NON_FINITE = "non_finite"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"


class TaskCodeError(RuntimeError):
    """Task code produced something the environment cannot use; `reason` is a `FailureReason`."""

    def __init__(self, reason: FailureReason, message: str):
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message
