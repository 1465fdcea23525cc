"""What each agent must answer, as pydantic models. A model's answer is parsed and validated against these; an
answer that does not validate goes back to the model with the validation message (see `agents.llm`).

Validation that needs the run's facts (the scene's object names, the behaviors on offer, the runnable candidates)
reads them from pydantic's validation context, so the messages name the allowed values.
"""

from __future__ import annotations

import ast
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from video2policy import pysource

ABLATIONS = ("no_visual", "no_success_picking", "no_reflection", "single_reward_sample", "no_tracking", "robogen")


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context or {}


class TaskBrief(BaseModel):
    """The scene analyst's answer: which behavior the video shows and which scene object plays which role."""

    behavior: str = Field(description="name of one of the behaviors on offer")
    roles: dict[str, str] = Field(description="role name -> scene object name")
    task_description: str = Field(description="one or two sentences: what the robot must do")
    success_description: str = Field("", description="how to tell the task is done, from the first/last poses")
    reasoning: str = ""

    @model_validator(mode="after")
    def _known(self, info: ValidationInfo) -> TaskBrief:
        ctx = _context(info)
        behaviors: dict[str, list[str]] = ctx.get("behaviors", {})
        objects: list[str] = ctx.get("objects", [])
        if behaviors and self.behavior not in behaviors:
            raise ValueError(f"behavior {self.behavior!r} is not one of {sorted(behaviors)}")
        if objects:
            unknown = {r: o for r, o in self.roles.items() if o not in objects}
            if unknown:
                raise ValueError(f"roles name objects that are not in the scene: {unknown}; scene objects: {objects}")
        wanted = behaviors.get(self.behavior) if behaviors else None
        if wanted:
            missing = [r for r in wanted if r not in self.roles]
            if missing:
                raise ValueError(f"behavior {self.behavior!r} needs roles {wanted}; missing {missing}")
        return self


def check_task_code(code: str) -> str:
    """Cheap shape checks before the sandbox: code that parses must define exactly one class. Code that does not
    parse passes here: the sandbox's lint tier reports the syntax error with its line, and the coder repairs it."""
    if not code.strip():
        raise ValueError("the code block is empty")
    try:
        tree = pysource.parse(code)
    except SyntaxError:
        return code
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    if len(classes) != 1:
        raise ValueError(f"the code must define exactly one Task subclass at top level, found classes {classes}")
    return code


class TaskCodeAnswer(BaseModel):
    """The task coder's (and reflector's) answer: a complete task-code file."""

    code: str
    reasoning: str = ""

    _c = field_validator("code")(classmethod(lambda cls, v: check_task_code(v)))


class PickAnswer(BaseModel):
    """The critic's answer: which runnable candidate becomes the base task code, and why."""

    choice: int = Field(description="the candidate number k")
    reason: str = ""

    @field_validator("choice")
    @classmethod
    def _runnable(cls, choice: int, info: ValidationInfo) -> int:
        runnable = _context(info).get("runnable")
        if runnable is not None and choice not in runnable:
            raise ValueError(f"candidate {choice} is not one of the runnable candidates {sorted(runnable)}")
        return choice


OUTPUTS: dict[str, type[BaseModel]] = {m.__name__: m for m in (TaskBrief, TaskCodeAnswer, PickAnswer)}
