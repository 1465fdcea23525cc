"""Task code is parsed from many threads at once (K coders, sandbox checks): `pysource.parse` must never raise the
CPython 3.11 `SystemError: AST constructor recursion depth mismatch` (python/cpython#106905) that bare `ast.parse`
raises when a garbage collection runs finalizers during AST construction in another thread."""

from __future__ import annotations

import ast
import gc
import sys
import threading
from pathlib import Path

from video2policy import pysource

TASK_CODE = (Path(__file__).parents[1] / "examples" / "tasks" / "push_block_left.py").read_text()


class _Finalized:
    """A cycle with a finalizer: collecting it runs Python code, which lets another thread in mid-parse."""

    def __del__(self) -> None:
        sum(range(50))


def test_parse_from_many_threads_with_busy_garbage_collection() -> None:
    expected = ast.dump(ast.parse(TASK_CODE))
    errors: list[BaseException] = []
    mismatches = 0

    def work() -> None:
        nonlocal mismatches
        for _ in range(150):
            cycle = _Finalized()
            cycle.self = cycle  # type: ignore[attr-defined]
            try:
                if ast.dump(pysource.parse(TASK_CODE)) != expected:
                    mismatches += 1
            except BaseException as error:  # collected and asserted below
                errors.append(error)

    old_interval, old_threshold = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-6)
    gc.set_threshold(10, 2, 2)
    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old_interval)
        gc.set_threshold(*old_threshold)
    assert errors == [] and mismatches == 0, errors[:1]


def test_syntax_errors_still_raise() -> None:
    try:
        pysource.parse("def broken(:\n", filename="task.py")
    except SyntaxError as error:
        assert error.filename == "task.py"
    else:
        raise AssertionError("no SyntaxError")
