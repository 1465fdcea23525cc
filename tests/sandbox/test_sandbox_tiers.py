"""Validation tiers on real task code: benign examples pass every tier; each broken candidate stops at the right
tier with the right reason and a message that points at the fault. The probe runs in the real sandbox.

The candidates that need the probe are checked two at a time in one module-scoped fixture (each check pays the
interpreter + torch start-up), then asserted case by case.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sandbox_attacks import as_task_code
from typer.testing import CliRunner

from video2policy.cli.main import app
from video2policy.failures import FailureReason
from video2policy.sandbox import check_candidate, run_worker

ROOT = Path(__file__).resolve().parents[2]
SCENE = ROOT / "examples" / "scenes" / "block.json"
EXAMPLES = ROOT / "examples" / "tasks"
REACH = (EXAMPLES / "reach_block.py").read_text()


def _replace(old: str, new: str, code: str = REACH) -> str:
    assert old in code, old
    return code.replace(old, new, 1)


REWARD_HEAD = "    def compute_reward(self, actions, states):\n"
SUCCESS_HEAD = "    def compute_success(self, states):\n"
RESET_HEAD = "    def reset_objects_states(self, env_ids):\n"
OBS_HEAD = "    def compute_observation_key(self, states):\n"


def _reward_returns(expr: str) -> str:
    """reach_block with compute_reward replaced by one that returns `expr`."""
    start = REACH.index(REWARD_HEAD)
    return REACH[:start] + REWARD_HEAD + f"        n = states['eef_pos'].shape[0]\n        return {expr}\n"


# name -> (code, failing tier, reason, text the message must contain, check_candidate keyword arguments)
CASES: dict[str, tuple[str, str, FailureReason, str, dict]] = {
    "syntax": (
        _replace("def get_observation_space(self):", "def get_observation_space(self)"),
        "syntax",
        FailureReason.SYNTAX_ERROR,
        "line ",
        {},
    ),
    "forbidden_import": (
        _replace("import torch\n", "import torch\nimport os\n"),
        "lint",
        "forbidden_construct",
        "os",
        {},
    ),
    "missing_part": (REACH[: REACH.index(REWARD_HEAD)], "lint", FailureReason.MISSING_PART, "compute_reward", {}),
    "bad_signature": (
        _replace("def compute_reward(self, actions, states):", "def compute_reward(self, states):"),
        "lint",
        FailureReason.BAD_SIGNATURE,
        "actions, states",
        {},
    ),
    "import_error": (
        _replace("import torch\n", "import torch\nfrom video2policy.tools.sim.tensor_math import quat_nonexistent\n"),
        "import",
        FailureReason.IMPORT_ERROR,
        "quat_nonexistent",
        {},
    ),
    "module_level_error": (
        _replace("import torch\n", "import torch\nSCALE = 1 / 0\n"),
        "import",
        FailureReason.RUNTIME_ERROR,
        "ZeroDivisionError",
        {},
    ),
    "unknown_object": (
        _replace('"objects": ["block"]', '"objects": ["cup"]'),
        "instantiate",
        FailureReason.RUNTIME_ERROR,
        "['cup']",
        {},
    ),
    "key_error": (
        _replace(SUCCESS_HEAD, SUCCESS_HEAD + "        states['no_such_key'].sum()\n"),
        "smoke",
        FailureReason.RUNTIME_ERROR,
        "in compute_success",
        {},
    ),
    "partial_reset": (
        _replace(
            RESET_HEAD,
            RESET_HEAD + "        pos = torch.zeros(self.num_envs, 3)\n"
            "        pos[:, 2] = self.rest_height('block')\n"
            "        self.set_object_pose('block', env_ids, pos)\n        return\n",
        ),
        "smoke",
        FailureReason.RUNTIME_ERROR,
        "reset_objects_states",
        {},
    ),
    "observation_width": (
        _replace("return 3 + 3 + 3 + 1", "return 3 + 3 + 3 + 2"),
        "smoke",
        FailureReason.SHAPE_MISMATCH,
        "get_observation_space() returns 11",
        {},
    ),
    "observation_width_not_int": (
        _replace("return 3 + 3 + 3 + 1", "return 10.0"),
        "smoke",
        FailureReason.SHAPE_MISMATCH,
        "must return an int",
        {},
    ),
    "non_finite_observation": (
        _replace(OBS_HEAD, OBS_HEAD + "        states['eef_pos'] = states['eef_pos'] / 0.0\n"),
        "smoke",
        FailureReason.NON_FINITE,
        "eef_pos",
        {},
    ),
    "success_not_bool": (
        _replace(SUCCESS_HEAD, SUCCESS_HEAD + "        return torch.zeros(states['eef_pos'].shape[0])\n"),
        "smoke",
        FailureReason.SHAPE_MISMATCH,
        "torch.bool",
        {},
    ),
    "reward_wrong_shape": (
        _reward_returns("torch.zeros(n, 1), {}"),
        "smoke",
        FailureReason.SHAPE_MISMATCH,
        "shape (8,)",
        {},
    ),
    "component_not_tensor": (
        _reward_returns("torch.zeros(n), {'bonus': 1.0}"),
        "smoke",
        FailureReason.SHAPE_MISMATCH,
        "'bonus'",
        {},
    ),
    "reward_nan": (
        _reward_returns("torch.full((n,), float('nan')), {}"),
        "smoke",
        FailureReason.NON_FINITE,
        "non-finite",
        {},
    ),
    "timeout": (
        _replace(REWARD_HEAD, REWARD_HEAD + "        while True:\n            pass\n"),
        "smoke",
        FailureReason.TIMEOUT,
        "time limit",
        {"timeout_s": 3.0},
    ),
    "memory": (
        _replace(REWARD_HEAD, REWARD_HEAD + "        waste = torch.ones(2**31)\n"),
        "smoke",
        FailureReason.MEMORY_LIMIT,
        "memory",
        {},
    ),
    "exit_at_import": (
        _replace("import torch\n", "import torch\nraise SystemExit(0)\n"),
        "import",
        FailureReason.RUNTIME_ERROR,
        "end the process",
        {},
    ),
    # lint disabled: only the runner stands between these and the host
    "attack_ignores_sigterm": (
        as_task_code("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass"),
        "import",
        FailureReason.TIMEOUT,
        "time limit",
        {"timeout_s": 2.0, "lint_enabled": False},
    ),
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("tiers")

    def run(name: str):
        code, *_, kwargs = CASES[name]
        return check_candidate(code, SCENE, root / name, **kwargs)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(CASES, pool.map(run, CASES), strict=True))


@pytest.mark.parametrize("name", list(CASES))
def test_failing_candidate_stops_at_the_right_tier(name, checked):
    _, tier, reason, fragment, _ = CASES[name]
    result = checked[name]
    assert not result.ok
    assert (result.first_failed_tier, result.reason) == (tier, reason), result.message
    assert fragment in result.message, result.message
    ran = [t.tier for t in result.tiers]
    assert ran == ["syntax", "lint", "import", "instantiate", "smoke"][: ran.index(tier) + 1]
    assert [t.ok for t in result.tiers] == [True] * (len(ran) - 1) + [False]
    assert result.smoke is None


def test_runtime_errors_point_at_the_line(checked):
    message = checked["key_error"].message
    line = CASES["key_error"][0].splitlines().index("        states['no_such_key'].sum()") + 1
    assert f"line {line} in compute_success" in message and "KeyError" in message


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_example_tasks_pass_every_tier(path, tmp_path):
    result = check_candidate(path.read_text(), SCENE, tmp_path)
    assert result.ok, result.feedback()
    assert [t.tier for t in result.tiers] == ["syntax", "lint", "import", "instantiate", "smoke"]
    smoke = result.smoke
    assert smoke["num_envs"] == 8 and smoke["steps"] == 20
    assert smoke["observation_width"] > 0 and smoke["observation_keys"]
    assert smoke["components"] and all(isinstance(v, float) for v in smoke["components"].values())
    assert 0.0 <= smoke["success_rate"] <= 1.0
    assert result.level in ("bwrap", "process")
    assert result.startup_s > 0
    assert sum(t.seconds for t in result.tiers) < 3.0  # the tiers' own cost, start-up excluded


def test_attack_candidate_with_lint_disabled_is_contained(tmp_path, loopback_server):
    """Escape attempts inside task code, lint off: the probe still runs them in the sandbox, nothing leaks out."""
    outside, scene_dir = tmp_path / "outside", tmp_path / "scene"
    outside.mkdir()
    shutil.copytree(SCENE.parent, scene_dir)
    import torch

    class Payload:
        def __reduce__(self):
            return (os.system, (f"echo pwned > {outside}/pickle.txt",))

    torch.save(Payload(), scene_dir / "policy.pt")
    body = f"""
import os, socket
for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == "_wrap_close":
        cls.__init__.__globals__["system"]("echo pwned > {outside}/subclasses.txt")
os.system("echo pwned > {outside}/system.txt")
torch.load("{scene_dir / "policy.pt"}", weights_only=False)
socket.create_connection(("127.0.0.1", {loopback_server.port}), timeout=2)
"""
    result = check_candidate(as_task_code(body), scene_dir / "block.json", tmp_path / "work", lint_enabled=False)
    assert (result.first_failed_tier, result.reason) == ("import", FailureReason.RUNTIME_ERROR), result.message
    assert "ConnectionRefusedError" in result.message
    assert list(outside.iterdir()) == []
    assert loopback_server.accepted == 0
    linted = check_candidate(as_task_code(body), scene_dir / "block.json", tmp_path / "work2")
    assert (linted.first_failed_tier, linted.reason) == ("lint", FailureReason.FORBIDDEN_CONSTRUCT)


def test_cli_check_json_and_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["sandbox", "check", str(EXAMPLES / "reach_block.py"), "--scene", str(SCENE), "--json"])
    assert ok.exit_code == 0, ok.output
    events = [json.loads(line) for line in ok.stdout.splitlines() if line.startswith("{")]
    assert [e["tier"] for e in events if e["event"] == "tier"] == list(
        ("syntax", "lint", "import", "instantiate", "smoke")
    )
    assert events[-1]["event"] == "result" and events[-1]["ok"] is True

    bad = tmp_path / "bad.py"
    bad.write_text(CASES["forbidden_import"][0])
    failed = runner.invoke(app, ["sandbox", "check", str(bad), "--scene", str(SCENE), "--json"])
    assert failed.exit_code == 1
    result = json.loads(failed.stdout.splitlines()[-1])
    assert (result["first_failed_tier"], result["reason"]) == ("lint", "forbidden_construct")
    assert result["findings"][0]["line"] == CASES["forbidden_import"][0].splitlines().index("import os") + 1

    missing = runner.invoke(app, ["sandbox", "check", str(tmp_path / "nope.py"), "--scene", str(SCENE)])
    assert missing.exit_code == 2 and "no such task-code file" in missing.output
    assert "Traceback" not in missing.output
    no_scene = runner.invoke(app, ["sandbox", "check", str(bad), "--scene", str(tmp_path / "nope.json")])
    assert no_scene.exit_code == 2 and "no such scene file" in no_scene.output

    linted = runner.invoke(app, ["sandbox", "lint", str(bad)])
    assert linted.exit_code == 1 and "import-not-allowed" in linted.output


def test_rl_worker_runs_through_the_runner(tmp_path):
    """The real training worker, sandboxed: reads its scene and task code read-only, writes into out_dir."""
    from video2policy.tools.rl import TrainJob, write_job

    out_dir = tmp_path / "train"
    job = TrainJob(
        scene_path=SCENE,
        task_code_path=EXAMPLES / "reach_block.py",
        out_dir=out_dir,
        env_steps=512,
        num_envs=8,
        timeout_s=120,
    )
    result = run_worker(write_job(job, out_dir / "job.json"), timeout_s=180)
    assert result.ok, result.message
    train = json.loads((out_dir / "train.json").read_text())
    assert train["status"] == "ok", train
    assert (out_dir / "policy.pt").stat().st_size > 0
    assert (out_dir / "policy.pt").stat().st_uid == os.getuid()
