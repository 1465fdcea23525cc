"""Static checks of generated task code (the `lint` tier): an allow-list of imports and names, no reflection.

Task code only needs tensor arithmetic over the state dictionary, so anything that reaches for the interpreter's
machinery (dunder attributes, `eval`, frames, file and process APIs) is refused here with a line number and a
fix-it message the coder agent can act on. The runner contains whatever slips through; this tier exists so
that the agent learns *why* its code was refused instead of seeing a sandbox crash.
"""

from __future__ import annotations

import ast
import re

from pydantic import BaseModel

from video2policy import pysource
from video2policy.failures import FailureReason

ALLOWED_MODULES = {
    "__future__",
    "math",
    "typing",
    "numpy",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.linalg",
    "torch.distributions",
    "video2policy.tools.sim",
    "video2policy.tools.sim.task",
    "video2policy.tools.sim.tensor_math",
}
# What `from video2policy.tools.sim import ...` may take: the task base class and the quaternion helpers.
TASK_API_NAMES = {"Task", "tensor_math", "ACTION_DIM"}
ALLOWED_IMPORTS_TEXT = (
    "torch (and torch.nn, torch.nn.functional, torch.linalg, torch.distributions), math, numpy, typing, "
    "and the task API: `from video2policy.tools.sim import Task, tensor_math`"
)
MODULE_REASONS = {
    "os": "task code must not touch files, processes or environment variables",
    "sys": "task code must not reach into the interpreter",
    "subprocess": "task code must not start processes",
    "socket": "task code has no network",
    "ctypes": "task code must not call C libraries",
    "importlib": "task code must not import modules dynamically",
    "builtins": "task code must not replace or reach built-in functions",
    "pickle": "unpickling runs arbitrary code",
    "shutil": "task code must not touch files",
    "pathlib": "task code must not touch files",
    "io": "task code must not touch files",
    "signal": "task code must not handle signals",
    "threading": "task code must not start threads",
    "multiprocessing": "task code must not start processes",
    "inspect": "task code must not inspect the interpreter",
    "gc": "task code must not inspect the interpreter",
}
# Names that give arbitrary code execution, file access or reflection.
FORBIDDEN_CALLS = {
    "eval": "evaluates a string as code",
    "exec": "runs a string as code",
    "compile": "turns a string into code",
    "open": "opens files",
    "__import__": "imports modules dynamically",
    "globals": "exposes the module's namespace",
    "locals": "exposes the frame's namespace",
    "vars": "exposes an object's namespace",
    "breakpoint": "starts a debugger",
    "input": "reads from the terminal",
    "exit": "ends the process",
    "quit": "ends the process",
    "help": "starts the interactive help",
    "memoryview": "reads raw memory",
}
REFLECTION_CALLS = {"getattr", "setattr", "delattr", "hasattr"}
# Attributes that read or write files, load pickles, or walk frames: refused on any object.
FORBIDDEN_ATTRIBUTES = {
    "load": "loads files (torch.load / numpy.load can unpickle code)",
    "save": "writes files",
    "savez": "writes files",
    "savez_compressed": "writes files",
    "loadtxt": "reads files",
    "savetxt": "writes files",
    "genfromtxt": "reads files",
    "fromfile": "reads files",
    "tofile": "writes files",
    "from_file": "reads files",
    "memmap": "maps files",
    "DataSource": "opens files and URLs",
    "ctypeslib": "calls C libraries",
    "hub": "downloads code",
    "utils": "torch.utils can load and compile extensions",
    "ops": "torch.ops can load libraries",
    "classes": "torch.classes can load libraries",
    "library": "torch.library can load libraries",
    "multiprocessing": "starts processes",
    "distributed": "opens network connections",
    "package": "torch.package unpickles code",
    "serialization": "unpickles code",
    "jit": "compiles and loads code",
    "compile": "compiles code",
    "get_type_hints": "evaluates strings as code",
    "ForwardRef": "evaluates strings as code",
    "system": "runs shell commands",
    "popen": "runs shell commands",
    "env": "task code reads the state dictionary and the Task helpers, not the environment object",
    "gi_frame": "walks interpreter frames",
    "gi_code": "walks interpreter frames",
    "cr_frame": "walks interpreter frames",
    "ag_frame": "walks interpreter frames",
    "f_globals": "walks interpreter frames",
    "f_locals": "walks interpreter frames",
    "f_builtins": "walks interpreter frames",
    "f_back": "walks interpreter frames",
    "f_code": "walks interpreter frames",
    "tb_frame": "walks interpreter frames",
    "tb_next": "walks interpreter frames",
    "co_code": "reads byte code",
    "mro": "walks the class hierarchy",
}
ALLOWED_DUNDER_NAMES = {"__name__"}
FORMAT_ATTRIBUTE = re.compile(r"\{[^{}]*[.\[]_")  # "{0.__class__}".format(x) reaches attributes from a string

# The six parts: name -> positional parameters after self (None: a class attribute).
TASK_PARTS: dict[str, tuple[str, ...] | None] = {
    "scene_info": None,
    "reset_objects_states": ("env_ids",),
    "compute_observation_key": ("states",),
    "get_observation_space": (),
    "compute_success": ("states",),
    "compute_reward": ("actions", "states"),
}
PART_TEMPLATES = {
    "scene_info": 'scene_info = {"objects": ["<object name>"], "horizon": 100}',
    "reset_objects_states": "def reset_objects_states(self, env_ids): ...  # place objects with self.set_object_pose",
    "compute_observation_key": "def compute_observation_key(self, states): ...  # return a list of state keys",
    "get_observation_space": "def get_observation_space(self): ...  # return the observation width (int)",
    "compute_success": "def compute_success(self, states): ...  # return a bool tensor (N,)",
    "compute_reward": "def compute_reward(self, actions, states): ...  # return (reward (N,), {name: tensor (N,)})",
}


class Finding(BaseModel):
    """One lint finding: where, which rule, what is wrong, and how to fix it."""

    line: int
    col: int = 0
    rule: str
    reason: FailureReason
    message: str
    fix: str

    def __str__(self) -> str:
        return f"line {self.line}: [{self.rule}] {self.message} Fix: {self.fix}"


def lint(code: str) -> list[Finding]:
    """All findings for a task-code file, in line order. A syntax error is a single `syntax` finding."""
    try:
        tree = pysource.parse(code)
    except SyntaxError as exc:
        return [
            Finding(
                line=exc.lineno or 1,
                col=exc.offset or 0,
                rule="syntax",
                reason=FailureReason.SYNTAX_ERROR,
                message=f"{exc.msg}.",
                fix="Make the file valid Python 3.11.",
            )
        ]
    visitor = _Visitor()
    visitor.visit(tree)
    findings = visitor.findings + _structure(tree)
    return sorted(findings, key=lambda f: (f.line, f.col, f.rule))


def _forbidden(node: ast.AST, rule: str, message: str, fix: str) -> Finding:
    return Finding(
        line=getattr(node, "lineno", 1),
        col=getattr(node, "col_offset", 0),
        rule=rule,
        reason=FailureReason.FORBIDDEN_CONSTRUCT,
        message=message,
        fix=fix,
    )


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def _add(self, node: ast.AST, rule: str, message: str, fix: str) -> None:
        self.findings.append(_forbidden(node, rule, message, fix))

    # --- imports ----------------------------------------------------------------------------------------------

    def _check_module(self, node: ast.AST, module: str) -> bool:
        if module in ALLOWED_MODULES:
            return True
        top = module.split(".")[0]
        why = MODULE_REASONS.get(top, "it is not on the allow-list")
        self._add(
            node,
            "import-not-allowed",
            f"import of {module!r} is not allowed: {why}.",
            f"Remove it; task code may import only {ALLOWED_IMPORTS_TEXT}.",
        )
        return False

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._add(
                node,
                "relative-import",
                "relative imports are not allowed: task code is a single file.",
                f"Import only {ALLOWED_IMPORTS_TEXT}.",
            )
            return
        module = node.module or ""
        if not self._check_module(node, module):
            return
        for alias in node.names:
            name = alias.name
            if name == "*" and module not in ("math", "video2policy.tools.sim.tensor_math"):
                self._add(
                    node,
                    "star-import",
                    f"`from {module} import *` hides which names the code uses.",
                    f"Import the names you need, e.g. `from {module} import <name>`.",
                )
            elif module == "video2policy.tools.sim" and name not in TASK_API_NAMES:
                self._add(
                    node,
                    "import-not-allowed",
                    f"`{name}` is not part of the task API.",
                    "Import only `Task`, `tensor_math` or `ACTION_DIM` from video2policy.tools.sim.",
                )
            elif module == "video2policy.tools.sim.task" and name != "Task":
                self._add(
                    node,
                    "import-not-allowed",
                    f"`{name}` is not part of the task API.",
                    "Use `from video2policy.tools.sim import Task`.",
                )
            elif name in FORBIDDEN_ATTRIBUTES or name.startswith("_"):
                why = FORBIDDEN_ATTRIBUTES.get(name, "private names are not part of any public API")
                self._add(
                    node,
                    "forbidden-name",
                    f"`from {module} import {name}` is not allowed: {why}.",
                    "Remove it; compute everything from the `states` tensors.",
                )

    # --- names, attributes, calls -----------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if _is_dunder(node.id) and node.id not in ALLOWED_DUNDER_NAMES:
            self._add(
                node,
                "dunder-name",
                f"`{node.id}` reaches into the interpreter.",
                "Remove it; task code needs only tensors, `self` and the Task helpers.",
            )
        elif node.id in FORBIDDEN_CALLS and isinstance(node.ctx, ast.Load):
            self._add(
                node,
                "forbidden-builtin",
                f"`{node.id}` is not allowed: it {FORBIDDEN_CALLS[node.id]}.",
                "Remove it; write the logic directly with torch operations.",
            )
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        base_is_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        if _is_dunder(attr):
            self._add(
                node,
                "dunder-attribute",
                f"attribute `.{attr}` reaches into the interpreter.",
                "Remove it; use the object's public methods and attributes.",
            )
        elif attr.startswith("_") and not base_is_self:
            self._add(
                node,
                "private-attribute",
                f"attribute `.{attr}` is private to another object.",
                "Use public APIs only (private names are allowed on `self`).",
            )
        elif attr in FORBIDDEN_ATTRIBUTES and not (base_is_self and attr != "env"):
            self._add(
                node,
                "forbidden-attribute",
                f"attribute `.{attr}` is not allowed: {FORBIDDEN_ATTRIBUTES[attr]}.",
                "Remove it; use self.num_envs, self.object_names, the Task helpers and the `states` tensors.",
            )
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in REFLECTION_CALLS:
            name_arg = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(name_arg, ast.Constant) and isinstance(name_arg.value, str)):
                self._add(
                    node,
                    "dynamic-attribute",
                    f"`{func.id}` with a computed attribute name cannot be checked.",
                    f"Write the attribute directly (`obj.name`) instead of `{func.id}(obj, ...)`.",
                )
            elif _is_dunder(name_arg.value) or name_arg.value.startswith("_"):
                self._add(
                    node,
                    "dunder-attribute",
                    f"`{func.id}(..., {name_arg.value!r})` reaches a private or interpreter attribute.",
                    "Remove it; use public attributes only.",
                )
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            if _is_dunder(node.value):
                self._add(
                    node,
                    "dunder-string",
                    f"the string {node.value!r} names an interpreter attribute.",
                    "Remove it; task code never needs interpreter internals.",
                )
            elif FORMAT_ATTRIBUTE.search(node.value):
                self._add(
                    node,
                    "format-attribute",
                    "a format string reaches a private attribute (`{x._y}` / `{x.__y__}`).",
                    "Format plain values only, e.g. f'{value:.3f}'.",
                )
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self._add(
            node,
            "global-statement",
            "`global` rebinds module state shared between environments.",
            "Keep state on `self` (e.g. `self.counter`) instead.",
        )


# --- structure: one Task subclass with the six parts ---------------------------------------------------------


def _base_names(cls: ast.ClassDef) -> list[str]:
    names = []
    for base in cls.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


def _task_classes(tree: ast.Module) -> list[ast.ClassDef]:
    """Top-level classes deriving from Task, directly or through another class in the same file."""
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    derived: dict[str, bool] = {}

    def is_task(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in derived:
            return derived[name]
        cls = classes.get(name)
        result = cls is not None and any(
            base == "Task" or (base in classes and base not in seen and is_task(base, seen | {name}))
            for base in _base_names(cls)
        )
        derived[name] = result
        return result

    return [cls for name, cls in classes.items() if is_task(name)]


def _class_members(cls: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> dict[str, ast.AST]:
    """Members defined in the class or in its same-file bases (the nearest definition wins)."""
    members: dict[str, ast.AST] = {}
    for base in reversed(_base_names(cls)):
        if base in classes and classes[base] is not cls:
            members.update(_class_members(classes[base], classes))
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            members[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    members[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members[node.target.id] = node
    return members


def _structure(tree: ast.Module) -> list[Finding]:
    tasks = _task_classes(tree)
    if not tasks:
        return [
            Finding(
                line=1,
                rule="no-task-class",
                reason=FailureReason.MISSING_PART,
                message="the file defines no subclass of Task.",
                fix="Define `class MyTask(Task):` with `from video2policy.tools.sim import Task`.",
            )
        ]
    leaves = [c for c in tasks if not any(c.name in _base_names(o) for o in tasks)]
    if len(leaves) > 1:
        names = ", ".join(c.name for c in leaves)
        return [
            Finding(
                line=leaves[1].lineno,
                rule="several-task-classes",
                reason=FailureReason.MISSING_PART,
                message=f"the file defines several Task classes ({names}); the environment needs exactly one.",
                fix="Keep one Task subclass and merge the others into it.",
            )
        ]
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    cls = leaves[0]
    members = _class_members(cls, classes)
    findings = []
    for part, params in TASK_PARTS.items():
        node = members.get(part)
        if node is None:
            findings.append(
                Finding(
                    line=cls.lineno,
                    rule="missing-part",
                    reason=FailureReason.MISSING_PART,
                    message=f"class {cls.name} does not define `{part}`.",
                    fix=f"Add `{PART_TEMPLATES[part]}` to class {cls.name}.",
                )
            )
            continue
        problem = _signature_problem(part, params, node)
        if problem:
            findings.append(
                Finding(
                    line=node.lineno,
                    rule="bad-signature",
                    reason=FailureReason.BAD_SIGNATURE,
                    message=f"`{part}` {problem}.",
                    fix=f"Use `{PART_TEMPLATES[part]}`.",
                )
            )
    return findings


def _signature_problem(part: str, params: tuple[str, ...] | None, node: ast.AST) -> str | None:
    if params is None:  # scene_info: a class attribute holding a dict
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return "must be a class attribute (a dict), not a method"
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        is_dict = isinstance(value, ast.Dict) or (
            isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict"
        )
        return None if is_dict else "must be a dict literal, e.g. {'objects': [...]} "
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return "must be a method"
    if isinstance(node, ast.AsyncFunctionDef):
        return "must not be async"
    for deco in node.decorator_list:
        name = deco.id if isinstance(deco, ast.Name) else getattr(deco, "attr", "")
        if name in ("staticmethod", "classmethod", "property"):
            return f"must be a plain method, not a {name}"
    args = node.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    if not positional or positional[0] != "self":
        return "must take `self` first"
    given = positional[1:]
    required = len(given) - len(args.defaults)
    if required > len(params):
        return f"takes {required} required arguments after self ({', '.join(given)}); the environment passes " + (
            f"{len(params)} ({', '.join(params)})" if params else "none"
        )
    if len(given) < len(params) and args.vararg is None:
        have = ", ".join(given) or "none"
        return f"takes {len(given)} arguments after self ({have}); the environment passes {', '.join(params)}"
    if any(d is None for d in args.kw_defaults):
        return "has required keyword-only arguments the environment does not pass"
    return None
