"""The lint tier: every static attack is refused with a line and a fix; benign task code passes untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_attacks import ATTACKS, as_task_code

from video2policy.failures import FailureReason
from video2policy.sandbox import lint

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tasks"
REACH = (EXAMPLES / "reach_block.py").read_text()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_example_tasks_are_clean(path):
    assert lint(path.read_text()) == []


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_suite_against_the_lint(name):
    attack = ATTACKS[name]
    code = as_task_code(attack.body)
    findings = lint(code)
    forbidden = [f for f in findings if f.reason == FailureReason.FORBIDDEN_CONSTRUCT]
    if attack.lint_rules is None:  # slips past any static check; the runner tests contain it
        assert findings == []
        return
    assert forbidden, f"{name} passed the lint"
    assert {f.rule for f in forbidden} & attack.lint_rules, [str(f) for f in forbidden]
    first_attack_line = code.splitlines().index(attack.body.strip().splitlines()[0]) + 1
    for finding in forbidden:
        assert finding.line >= first_attack_line
        assert finding.fix


def _replace(old: str, new: str, code: str = REACH) -> str:
    assert old in code
    return code.replace(old, new)


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("import os", "import-not-allowed"),
        ("import sys", "import-not-allowed"),
        ("from subprocess import run", "import-not-allowed"),
        ("import socket", "import-not-allowed"),
        ("from . import helpers", "relative-import"),
        ("from torch import load", "forbidden-name"),
        ("from torch import *", "star-import"),
        ("from video2policy.tools.sim import TaskEnv", "import-not-allowed"),
        ("x = eval('1')", "forbidden-builtin"),
        ("exec('x = 1')", "forbidden-builtin"),
        ("c = compile('1', 'f', 'eval')", "forbidden-builtin"),
        ("f = open('/etc/passwd')", "forbidden-builtin"),
        ("g = globals()", "forbidden-builtin"),
        ("v = vars(torch)", "forbidden-builtin"),
        ("m = __import__('os')", "dunder-name"),
        ("b = __builtins__", "dunder-name"),
        ("c = (1).__class__", "dunder-attribute"),
        ("c = getattr(torch, '__dict__')", "dunder-attribute"),
        ("name = 'lo' + 'ad'\nf = getattr(torch, name)", "dynamic-attribute"),
        ("f = torch.load", "forbidden-attribute"),
        ("s = torch.ops", "forbidden-attribute"),
        ("c = torch._C", "private-attribute"),
        ("d = numpy.load", "forbidden-attribute"),
        ("t = torch.zeros(3)\nt.numpy().tofile('x')", "forbidden-attribute"),
        ("def gen():\n    yield 1\nframe = gen().gi_frame", "forbidden-attribute"),
        ("s = '{0.__class__}'.format(1)", "format-attribute"),
        ("s = '{0._secret}'.format(1)", "format-attribute"),
        ("global counter", "global-statement"),
    ],
)
def test_forbidden_constructs(snippet, rule):
    code = _replace("import torch\n", f"import torch\nimport numpy\n{snippet}\n")
    findings = lint(code)
    line = code.splitlines().index(snippet.splitlines()[-1]) + 1
    hits = [f for f in findings if f.rule == rule]
    assert hits, [str(f) for f in findings]
    assert hits[0].reason == FailureReason.FORBIDDEN_CONSTRUCT
    assert hits[0].line in (line, line - snippet.count("\n"))
    assert hits[0].fix


def test_self_env_is_refused_but_own_attributes_are_fine():
    head = "    def compute_reward(self, actions, states):\n"
    code = _replace(head, head + "        self._scale = 10.0\n        n = self.env.num_envs\n")
    findings = lint(code)
    assert [f.rule for f in findings] == ["forbidden-attribute"]
    assert "self.num_envs" in findings[0].fix


def test_missing_part_names_the_part_and_the_template():
    start = REACH.index("    def compute_reward")
    findings = lint(REACH[:start])
    assert [(f.rule, f.reason) for f in findings] == [("missing-part", FailureReason.MISSING_PART)]
    assert "compute_reward" in findings[0].message
    assert "def compute_reward(self, actions, states)" in findings[0].fix
    assert findings[0].line == REACH.splitlines().index("class ReachBlock(Task):") + 1


def test_no_task_class_and_several_task_classes():
    assert lint("import torch\n")[0].rule == "no-task-class"
    two = REACH + "\n\nclass Other(Task):\n    pass\n"
    assert [f.rule for f in lint(two)] == ["several-task-classes"]
    derived = REACH + "\n\nclass Harder(ReachBlock):\n    scene_info = {'objects': ['block'], 'horizon': 80}\n"
    assert lint(derived) == []  # one leaf class, its parts come from its base in the same file


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("def compute_reward(self, actions, states):", "def compute_reward(self, states):", "takes 1 arguments"),
        ("def compute_success(self, states):", "def compute_success(self, states, extra):", "2 required"),
        ("def get_observation_space(self):", "@staticmethod\n    def get_observation_space():", "staticmethod"),
        ("def compute_success(self, states):", "async def compute_success(self, states):", "async"),
        ("def compute_success(self, states):", "def compute_success(states, self):", "self"),
        ('scene_info = {"objects": ["block"], "horizon": 50}', "scene_info = ['block']", "dict"),
    ],
)
def test_bad_signatures(old, new, fragment):
    findings = lint(_replace(old, new))
    assert [f.reason for f in findings] == [FailureReason.BAD_SIGNATURE], [str(f) for f in findings]
    assert fragment in findings[0].message
    assert findings[0].line == _replace(old, new).splitlines().index("    " + new.splitlines()[-1].strip()) + 1


def test_optional_extra_arguments_are_accepted():
    code = _replace("def compute_success(self, states):", "def compute_success(self, states, margin=0.03):")
    assert lint(code) == []


def test_syntax_error_is_one_finding_with_its_line():
    code = _replace("def get_observation_space(self):", "def get_observation_space(self)")
    findings = lint(code)
    assert len(findings) == 1
    assert findings[0].reason == FailureReason.SYNTAX_ERROR
    assert findings[0].line == code.splitlines().index("    def get_observation_space(self)") + 1
