"""Parsing Python source from several threads at once.

CPython 3.11 can raise `SystemError: AST constructor recursion depth mismatch` when threads build ASTs at the
same time (python/cpython#106905). The agents' task coders and sandbox checks run in threads, so every
`ast.parse` of task code goes through one lock.
"""

from __future__ import annotations

import ast
import threading

_lock = threading.Lock()


def parse(code: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse`, one thread at a time (raises SyntaxError as ast.parse does)."""
    with _lock:
        return ast.parse(code, filename=filename)
