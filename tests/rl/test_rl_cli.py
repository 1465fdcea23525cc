"""`v2p train`, `v2p eval` and `v2p demo` as a user runs them: --json events on stdout, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENE = ROOT / "examples" / "scenes" / "block.json"
REACH = ROOT / "examples" / "tasks" / "reach_block.py"
V2P = [sys.executable, "-m", "video2policy.cli.main"]


def v2p(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*V2P, *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_train_then_eval_with_json_events(tmp_path):
    run = v2p(
        "train",
        str(SCENE),
        "--task-code",
        str(REACH),
        "--steps",
        "3072",
        "--envs",
        "32",
        "--seed",
        "2",
        "--out",
        str(tmp_path / "t"),
        "--hp",
        "minibatch_size=512",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    got = events(run.stdout)
    progress = [e for e in got if e["event"] == "progress"]
    assert progress and progress[-1]["env_steps"] >= 3072 and "success_rate" in progress[-1]
    result = got[-1]
    assert result["event"] == "result" and result["status"] == "ok"
    policy = Path(result["files"]["policy"])
    assert policy.is_file()

    run = v2p(
        "eval",
        str(policy),
        "--episodes",
        "4",
        "--seeds",
        "0,1",
        "--success",
        "task",
        "--out",
        str(tmp_path / "eval.json"),
        "--json",
    )
    assert run.returncode == 0, run.stderr
    result = events(run.stdout)[-1]
    assert result["event"] == "result" and result["episodes"] == 4 and result["seeds"] == [0, 1]
    assert 0.0 <= result["success_rate"] <= 1.0 and "not a ground-truth" in run.stderr
    assert json.loads((tmp_path / "eval.json").read_text())["per_seed"][1]["seed"] == 1


def test_train_reports_bad_input_without_a_traceback(tmp_path):
    run = v2p("train", str(SCENE), "--task-code", str(tmp_path / "missing.py"), "--steps", "100")
    assert run.returncode == 2 and "task code file" in run.stderr and "Traceback" not in run.stderr
    run = v2p("train", str(SCENE), "--task-code", str(REACH), "--hp", "warp_speed=9", "--steps", "100")
    assert run.returncode == 2 and "warp_speed" in run.stderr and "Traceback" not in run.stderr
    broken = tmp_path / "broken.py"
    broken.write_text(REACH.read_text().replace("return reward, {", "return reward * float('nan'), {"))
    run = v2p(
        "train",
        str(SCENE),
        "--task-code",
        str(broken),
        "--steps",
        "2000",
        "--envs",
        "8",
        "--out",
        str(tmp_path / "b"),
        "--json",
    )
    assert run.returncode == 1 and "non_finite" in run.stderr and "Traceback" not in run.stderr
    assert events(run.stdout)[-2]["reason"] == "non_finite"


@pytest.mark.slow
def test_demo_writes_a_run_folder_with_policy_eval_and_video(tmp_path):
    run = v2p("demo", "--rl-only", "--steps", "4096", "--runs-dir", str(tmp_path), "--json")
    assert run.returncode == 0, run.stderr
    result = events(run.stdout)[-1]
    final = Path(result["run_dir"]) / "final"
    for name in ("policy.pt", "eval.json", "rollout.mp4"):
        assert (final / name).is_file(), name
    evaluation = json.loads((final / "eval.json").read_text())
    assert evaluation["episodes"] == 10 and evaluation["seeds"] == [0, 1, 2]
    with av.open(str(final / "rollout.mp4")) as video:
        frames = sum(1 for _ in video.decode(video=0))
    assert frames == evaluation["horizon"] + 1  # the first frame and one per control step
