"""`v2p demo` as the README promises it: synthetic push clip → perception → agents → ground-truth success ≥ 0.8,
with the report, the input video and the policy's rollout in the run folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

V2P = [sys.executable, "-m", "video2policy.cli.main"]


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_and_reaches_the_promised_success(tmp_path: Path) -> None:
    run = subprocess.run(
        # a relative runs folder from another working directory, as a user types it: the sandboxed workers run
        # elsewhere, so every path handed to them must be made absolute
        [*V2P, "demo", "--runs-dir", "runs", "--no-open", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    events = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    result = events[-1]
    assert result["event"] == "result" and result["status"] == "done"
    assert result["provider"] == "offline" and result["behavior"] == "push_left"
    assert result["scene_source"] == "perception", "the demo fell back to the clip's ground truth"
    assert result["ground_truth_success"] >= 0.8
    run_dir = tmp_path / result["run_dir"]
    for name in ("report.html", "scene.json", "trace.jsonl", "checkpoints.sqlite", "final/rollout.mp4"):
        assert (run_dir / name).is_file(), name
    report = (run_dir / "report.html").read_text()
    assert report.count("<video") >= 2  # the input clip beside the learned policy's rollout
